"""The shared image build: the content tag and what the push is given."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ECR_PASSWORD, ROOT, Harness, is_secret, resolve
from container_registry import Cloud, Registry, RegistryCredentials, RegistryImage
from container_registry.image import content_tag, context_files

APP_DIR = ROOT / "app"
PLATFORM = "linux/amd64"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "html" / "img").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY html /html\n")
    (root / "html" / "index.html").write_text("<p>hello</p>\n")
    (root / "html" / "img" / "logo.svg").write_text("<svg/>\n")
    (root / "entrypoint.sh").write_text("#!/bin/sh\nexec nginx\n")
    (root / "NOTES.md").write_text("not shipped\n")
    (root / "KEEP.md").write_text("shipped, by negation\n")
    (root / ".dockerignore").write_text("# comment\n*.md\n!KEEP.md\n**/*.swp\nsecrets/\n")
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def test_context_files_follow_docker_ignore_rules(context: Path) -> None:
    (context / "html" / "img" / ".logo.svg.swp").write_text("swap")
    (context / "secrets").mkdir()
    (context / "secrets" / "key.pem").write_text("private")
    assert context_files(context) == [
        ".dockerignore",
        "Dockerfile",
        "KEEP.md",
        "entrypoint.sh",
        "html/img/logo.svg",
        "html/index.html",
    ]


def test_tag_is_twelve_hex_digits_and_stable(context: Path) -> None:
    tag = content_tag(context, PLATFORM)
    assert len(tag) == 12 and all(c in "0123456789abcdef" for c in tag)
    assert content_tag(context, PLATFORM) == tag


def test_tag_does_not_depend_on_where_the_checkout_is(context: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(context, tmp_path / "elsewhere" / "ctx")
    assert content_tag(copy, PLATFORM) == content_tag(context, PLATFORM)


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "html" / "index.html").write_text("<p>hello!</p>\n"),
        lambda root: (root / "html" / "new.css").write_text("p{}\n"),
        lambda root: (root / "html" / "img" / "logo.svg").unlink(),
        lambda root: (root / "html" / "index.html").rename(root / "html" / "home.html"),
        # same sort position: only the hashed path itself can tell
        lambda root: (root / "html" / "index.html").rename(root / "html" / "index2.html"),
        lambda root: (root / "entrypoint.sh").chmod(0o744),
        lambda root: (root / "KEEP.md").write_text("changed\n"),
        lambda root: (root / "Dockerfile").write_text("FROM scratch\n"),
        lambda root: (root / "entrypoint.sh").chmod(0o755),
        # Docker anchors `*.md` at the context root: a nested .md file is shipped.
        lambda root: (root / "html" / "draft.md").write_text("shipped\n"),
        # pulumi-docker hashes every mode bit, so a checkout under umask 002 rebuilds.
        lambda root: (root / "html" / "index.html").chmod(0o664),
        lambda root: (root / "Dockerfile").chmod(0o600),
        # A file replaced by a symlink to the same content is another file to the provider.
        lambda root: (
            (root / "html" / "index.html").unlink(),
            (root / "html" / "index.html").symlink_to("img/logo.svg"),
        ),
    ],
    ids=[
        "edit",
        "add",
        "delete",
        "rename",
        "rename-in-place",
        "owner-exec-bit",
        "negated-ignore",
        "dockerfile",
        "exec-bit",
        "nested-md",
        "group-write-bit",
        "other-read-bit",
        "file-to-symlink",
    ],
)
def test_any_change_to_a_shipped_file_changes_the_tag(context: Path, change) -> None:
    before = content_tag(context, PLATFORM)
    change(context)
    assert content_tag(context, PLATFORM) != before


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "NOTES.md").write_text("edited, still ignored\n"),
        lambda root: (root / "CHANGELOG.md").write_text("ignored\n"),
        lambda root: (root / "html" / ".index.html.swp").write_text("swap\n"),
        lambda root: (root / "NOTES.md").chmod(0o664),
        # The provider skips directories when it hashes the context.
        lambda root: (root / "html").chmod(0o775),
    ],
    ids=["edit-ignored", "add-ignored", "swap-file", "ignored-file-mode", "dir-mode"],
)
def test_ignored_files_and_other_mode_bits_leave_the_tag_alone(context: Path, change) -> None:
    before = content_tag(context, PLATFORM)
    change(context)
    assert content_tag(context, PLATFORM) == before


def test_dockerfile_specific_ignore_file_wins(context: Path) -> None:
    (context / "Dockerfile.dockerignore").write_text("html/img\n")
    shipped = context_files(context)
    assert "NOTES.md" in shipped, "the context's .dockerignore must not apply any more"
    assert "html/img/logo.svg" not in shipped


def test_dockerignore_comment_lines_are_not_patterns(context: Path) -> None:
    (context / "#notes").write_text("shipped: a '#' line in .dockerignore is a comment\n")
    (context / ".dockerignore").write_text("#notes\n*.md\n!KEEP.md\n")
    assert "#notes" in context_files(context)


def test_dangling_symlink_is_shipped_and_hashed(context: Path) -> None:
    before = content_tag(context, PLATFORM)
    os.symlink("missing.html", context / "html" / "dangling.html")
    assert "html/dangling.html" in context_files(context)
    assert content_tag(context, PLATFORM) != before


def test_platform_is_part_of_the_tag(context: Path) -> None:
    assert content_tag(context, "linux/arm64") != content_tag(context, PLATFORM)


def test_symlink_target_is_hashed(context: Path) -> None:
    link = context / "html" / "current.html"
    os.symlink("index.html", link)
    with_link = content_tag(context, PLATFORM)
    link.unlink()
    os.symlink("img/logo.svg", link)
    assert content_tag(context, PLATFORM) != with_link


def image_at(context: Path, **args: str) -> RegistryImage:
    """A RegistryImage of `context` pushed to a registry made elsewhere."""
    login: RegistryCredentials = {"server": "registry.example", "username": "u", "password": "p"}
    return RegistryImage(
        "app",
        {
            "context": str(context),
            "repository_url": "registry.example/app",
            "login": login,
            **args,  # type: ignore[typeddict-item]
        },
    )


def test_configured_tag_wins_and_default_is_never_latest(context: Path) -> None:
    assert resolve(image_at(context, tag="v1.0.0").tag) == "v1.0.0"
    assert resolve(image_at(context).tag) == content_tag(context, PLATFORM)
    assert resolve(image_at(context).tag) != "latest"


def test_app_dir_is_the_build_context() -> None:
    assert (APP_DIR / "Dockerfile").is_file(), "app/Dockerfile is missing"
    assert "Dockerfile" in context_files(APP_DIR)
    assert "html/index.html" in context_files(APP_DIR)


def test_push_is_given_context_platform_tag_and_secret_login(harness: Harness) -> None:
    registry = Registry("registry", {"cloud": Cloud.AWS})
    image = RegistryImage(
        "registry",
        {
            "context": "app",
            "platform": "linux/arm64",
            "repository_url": registry.repository_url,
            "login": registry.login,
        },
    )
    tag = content_tag(APP_DIR, "linux/arm64")
    assert resolve(image.image_name) == (f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:{tag}")
    pushed = harness.one("docker:index/image:Image")
    assert pushed.inputs["build"] == {
        "context": "app",
        "dockerfile": os.path.join("app", "Dockerfile"),
        "platform": "linux/arm64",
        "builderVersion": "BuilderBuildKit",
    }
    assert pushed.inputs["imageName"].endswith(f"/app:{tag}")
    assert pushed.inputs["skipPush"] is False
    assert pushed.inputs["registry"]["password"] == ECR_PASSWORD
    assert "registry" in pushed.secret_paths, "the registry login reached the provider in clear"
    assert pushed.inputs["registry"]["server"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert is_secret(registry.login)

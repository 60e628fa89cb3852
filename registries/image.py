"""The image build and push every target shares: one tag rule, one platform, one login shape."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker
from docker.utils.build import exclude_paths

from registries.base_image import IMAGE_ARG, base_image
from registries.settings import DEFAULT_PLATFORM, Settings

APP_DIR = Path(__file__).resolve().parent.parent / "app"


@dataclass(frozen=True)
class RegistryLogin:
    """What `docker login` needs; the password is wrapped as a secret wherever it goes."""

    server: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]


def dockerignore_patterns(context: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """The ignore lines that apply to a build of `dockerfile` in `context`.

    As pulumi-docker's `getIgnorePatterns` (provider/provider.go) and BuildKit choose them: a
    `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's `.dockerignore`.
    """
    for ignore_file in (context / f"{dockerfile}.dockerignore", context / ".dockerignore"):
        if ignore_file.is_file():
            lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
            return [line for line in lines if line and not line.startswith("#")]
    return []


def context_files(context: Path) -> list[str]:
    """Relative paths of the files Docker would send as the build context, sorted.

    docker-py's `exclude_paths` applies Docker's own .dockerignore rules (negation, `**`, the
    Dockerfile that is always sent), so the hash below sees exactly what a build would.
    """
    included = exclude_paths(str(context), dockerignore_patterns(context))
    return sorted(
        path for path in included if (context / path).is_symlink() or (context / path).is_file()
    )


def content_tag(context: Path, platform: str, build_args: Mapping[str, str] | None = None) -> str:
    """First 12 hex digits of a SHA-256 over the build context and the target platform.

    The tag must move whenever pulumi-docker rebuilds, or a rebuild pushes a new digest under an
    old, immutable tag. The provider (pulumi-docker 4.5 to 5.x, `hashContext` and
    `contextHashAccumulator.hashPath` in provider/provider.go) rebuilds when its hash of the
    context changes, and it hashes, for every file it walks (directories are skipped): the
    relative path, the whole `fs.FileMode` (type and every permission bit, so a `chmod g+w` or
    another umask counts), and the content, or for a symlink where it points. This hashes the same
    facts: the path, the full `lstat` mode, and the content or link target. The platform is
    hashed too, so an image for another architecture never reuses an immutable tag. So are
    the build arguments, when there are any (a base image from a mirror is another build).
    """
    digest = hashlib.sha256()
    digest.update(f"platform\0{platform}\0".encode())
    for key, value in sorted((build_args or {}).items()):
        digest.update(f"arg\0{key}\0{len(value)}\0{value}\0".encode())
    for relative in context_files(context):
        path = context / relative
        mode = path.lstat().st_mode
        body = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(f"{relative}\0{mode:o}\0{len(body)}\0".encode())
        digest.update(body)
    return digest.hexdigest()[:12]


def build_platform(settings: Settings) -> str:
    """The platform to build for: the setting, settled by `prepare_engine`, else linux/amd64."""
    return settings.platform or DEFAULT_PLATFORM


def image_tag(
    settings: Settings, context: Path = APP_DIR, build_args: Mapping[str, str] | None = None
) -> str:
    """The configured `imageTag`, else the content tag; never `latest`."""
    return settings.image_tag or content_tag(context, build_platform(settings), build_args)


def mirror_build_args(mirror_endpoint: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The build arguments that make app/Dockerfile start from its base image in the mirror
    (`<mirror_endpoint>/nginx`); the pinned tag stays the Dockerfile's own."""
    return {
        IMAGE_ARG: pulumi.Output.concat(mirror_endpoint, "/", base_image().repository),
    }


def builder_version(build_args: Mapping[str, object] | None) -> docker.BuilderVersion:
    """BuildKit, except when the base image comes through a mirror in a private registry.

    pulumi-docker (provider/image.go, `dockerBuild`) hands the registry's credentials to the
    classic builder in the build request (`ImageBuildOptions.AuthConfigs`), but to BuildKit only
    through its session auth provider, which reads the Docker config file; where that file names
    a credential store (Docker Desktop's `credsStore: desktop`, osxkeychain, pass), the store
    answers instead and knows nothing of this registry, so BuildKit would pull the base image
    from the mirror without credentials and be refused. The classic builder sends them.
    """
    if build_args:
        return docker.BuilderVersion.BUILDER_V1
    return docker.BuilderVersion.BUILDER_BUILD_KIT


def push_image(
    name: str,
    *,
    parent: pulumi.Resource,
    settings: Settings,
    repo_endpoint: pulumi.Input[str],
    login: RegistryLogin,
    depends_on: Sequence[pulumi.Resource] = (),
    context: Path = APP_DIR,
    build_args: Mapping[str, pulumi.Input[str]] | None = None,
) -> docker.Image:
    """Build app/ for the configured platform and push it to `repo_endpoint:<tag>`."""
    tag: pulumi.Input[str]
    if build_args:
        # Their values may come from resources (a mirror's host), so the tag is an Output.
        tag = pulumi.Output.all(**build_args).apply(
            lambda resolved: image_tag(settings, context, resolved)
        )
    else:
        tag = image_tag(settings, context)
    # A relative context keeps the stored inputs identical on every machine that runs the stack.
    build_context = os.path.relpath(context)
    return docker.Image(
        f"{name}-image",
        docker.ImageArgs(
            image_name=pulumi.Output.concat(repo_endpoint, ":", tag),
            build=docker.DockerBuildArgs(
                context=build_context,
                dockerfile=os.path.join(build_context, "Dockerfile"),
                platform=build_platform(settings),
                builder_version=builder_version(build_args),
                args=dict(build_args) if build_args else None,
            ),
            registry=docker.RegistryArgs(
                server=login.server,
                username=login.username,
                password=pulumi.Output.secret(login.password),
            ),
            skip_push=False,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )

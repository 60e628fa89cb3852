"""The generated workflow signs what it pushed, by digest, keylessly, and attests its SBOM; the `ci`
output says exactly how to verify it (issue 23 item 1; docs/supply-chain.md).

Literals come from the sources they name: the commits from the actions' own repositories
(`git rev-list -n1 <tag>`), the issuer and identity from GitHub's and Sigstore's documentation.
zizmor, GitHub's workflow schema and shellcheck judge the whole workflow in tests/test_ci.py; here
they judge the signing steps of a workflow built directly.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from container_registry import github as ci
from container_registry.options import CiOptions
from container_registry.verification import verification_values

# sigstore/cosign-installer: tag v4.1.2 is commit 6f9f177...; its action.yml installs cosign
# v3.0.6 by default.
COSIGN_INSTALLER = "sigstore/cosign-installer@6f9f17788090df1f26f669e9d70d6ae9567deba6"
# GitHub's OIDC issuer ("About security hardening with OpenID Connect": `iss`).
ISSUER = "https://token.actions.githubusercontent.com"
DIGEST = "${{ steps.build.outputs.digest }}"
ENDPOINT = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
ZIZMOR = Path(sys.executable).with_name("zizmor")


def build(options: CiOptions) -> dict[str, Any]:
    return ci.workflow(
        options,
        cloud_name="Amazon ECR",
        login_steps=[],
        repo_endpoint=ENDPOINT,
        platform="linux/amd64",
    )


def steps_after_build(document: dict[str, Any]) -> list[dict[str, Any]]:
    steps = document["jobs"]["push"]["steps"]
    index = next(i for i, s in enumerate(steps) if s.get("id") == "build")
    return steps[index + 1 :]


def test_signs_and_attests_the_pushed_digest_in_cosigns_tag_form() -> None:
    after = steps_after_build(build(CiOptions("octo/app")))
    sbom, sign, attest = after[0], after[1], after[2]
    # syft reads the pushed digest from the registry, with the login's Docker credentials.
    assert shlex.split(sbom["run"]) == [
        "syft", "scan", "registry:${IMAGE}@${DIGEST}", "--output", "spdx-json=sbom.spdx.json"
    ]  # fmt: skip
    for run in (sbom, sign, attest):
        # The digest the build step reported, through env: never a tag, never pasted into shell.
        assert run["env"] == {"IMAGE": ENDPOINT, "DIGEST": DIGEST}
        assert "${{" not in run["run"]
    assert shlex.split(sign["run"]) == [
        "cosign", "sign", "--yes",
        # cosign 3's tag form (`sha256-<hex>.sig`), which the clean-up rules keep
        "--new-bundle-format=false", "--use-signing-config=false",
        "${IMAGE}@${DIGEST}",
    ]  # fmt: skip
    assert shlex.split(attest["run"]) == [
        "cosign", "attest", "--yes", "--new-bundle-format=false", "--use-signing-config=false",
        "--type", "spdxjson", "--predicate", "sbom.spdx.json", "${IMAGE}@${DIGEST}",
    ]  # fmt: skip


def test_each_push_is_one_image_manifest_without_buildx_attestations() -> None:
    """docker/build-push-action's `provenance` input: buildx attaches a provenance attestation by
    default (Docker docs, "Provenance attestations"), which makes the push an image index with
    untagged child manifests that the clean-up windows would not count; "false" turns it off."""
    steps = build(CiOptions("octo/app"))["jobs"]["push"]["steps"]
    build_step = next(s for s in steps if s.get("id") == "build")
    assert build_step["with"]["provenance"] == "false"
    assert "sbom" not in build_step["with"], "the SBOM is syft's, attested by cosign"


def test_only_the_push_job_gets_an_oidc_token() -> None:
    document = build(CiOptions("octo/app"))
    assert document["permissions"] == {}
    holders = [name for name, job in document["jobs"].items() if "id-token" in job["permissions"]]
    assert holders == ["push"]
    assert document["jobs"]["push"]["permissions"] == {"id-token": "write", "contents": "read"}


@pytest.mark.parametrize(
    ("options", "identity", "ids"),
    [
        (
            CiOptions("octo/app"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/heads/main",
            [],
        ),
        (
            CiOptions("octo/app", ref="refs/tags/v1.2", environment="production"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/tags/v1.2",
            [],
        ),
        (
            CiOptions("octo/app", owner_id="1", repository_id="2"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/heads/main",
            ["--repository-id", "2", "--owner-id", "1"],
        ),
    ],
)
def test_the_verify_commands_name_exactly_this_workflow_ref_and_ids(
    options: CiOptions, identity: str, ids: list[str]
) -> None:
    """Fulcio puts the workflow's `job_workflow_ref` in the certificate as
    `https://github.com/<repository>/<workflow file>@<ref>` (GitHub's OIDC token docs and Sigstore's
    "OIDC usage in Fulcio"); the environment changes nothing there. cosign's flags
    (cmd/cosign/cli/options/certificate.go, v3.0.6) check names; the IDs, the workflow and the
    trigger are checked by container_registry.signer (tests/test_signer.py)."""
    values = verification_values(options, ENDPOINT)
    assert values["certificateIdentity"] == identity
    assert values["certificateOidcIssuer"] == ISSUER
    flags = [
        "--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER,
        "--certificate-github-workflow-repository", "octo/app",
        "--certificate-github-workflow-ref", options.ref, "--output", "json",
    ]  # fmt: skip
    check = [
        "python3", "-m", "container_registry.signer", "--identity", identity, "--issuer", ISSUER,
        "--repository", "octo/app", "--ref", options.ref, *ids,
        # the generated workflow's own triggers (its `on:`)
        "--trigger", "push", "--trigger", "workflow_dispatch",
    ]  # fmt: skip
    cosign, _, signer = values["verifySignature"].partition(" | ")
    assert shlex.split(cosign) == ["cosign", "verify", *flags, f"{ENDPOINT}@DIGEST"]
    assert shlex.split(signer) == check
    cosign, _, signer = values["verifySbom"].partition(" | ")
    assert shlex.split(cosign) == [
        "cosign", "verify-attestation", "--type", "spdxjson", *flags, f"{ENDPOINT}@DIGEST"
    ]  # fmt: skip
    assert shlex.split(signer) == check
    # No regexp flag: an exact identity, not a pattern someone else's workflow could match.
    assert "regexp" not in values["verifySignature"]


def test_the_run_summary_prints_the_exact_commands(tmp_path: Path) -> None:
    options = CiOptions("octo/app", ref="refs/tags/v1.2", owner_id="7", repository_id="9")
    summary = steps_after_build(build(options))[-1]
    digest = "sha256:" + "ab" * 32
    out = tmp_path / "summary.md"
    result = subprocess.run(
        ["bash", "-e", "-c", summary["run"]],
        env={**summary["env"], "DIGEST": digest, "GITHUB_STEP_SUMMARY": str(out)},
        capture_output=True,
        text=True,
        check=True,
    )
    printed = result.stdout.splitlines()
    values = verification_values(options, ENDPOINT)
    assert printed[1] == values["verifySignature"].replace("@DIGEST", f"@{digest}")
    assert printed[2] == values["verifySbom"].replace("@DIGEST", f"@{digest}")
    assert f"{ENDPOINT}@{digest} " in printed[1]
    assert out.read_text() == result.stdout


def _write(document: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "push-image.yml"
    path.write_text(ci.dump_workflow(document), encoding="utf-8")
    return path


def test_the_workflow_with_signing_validates_and_passes_zizmor(tmp_path: Path) -> None:
    path = _write(build(CiOptions("octo/app", environment="production")), tmp_path)
    schema = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    for persona in ("regular", "pedantic"):
        result = subprocess.run(
            [str(ZIZMOR), "--offline", "--no-config", "--format=json", f"--persona={persona}",
             str(path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0 or result.returncode >= 10, result.stderr
        idents = {finding["ident"] for finding in yaml.safe_load(result.stdout)}
        # A dumped document carries no comments: undocumented-permissions asks for them.
        assert idents <= ({"undocumented-permissions"} if persona == "pedantic" else set()), idents


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_signing_scripts_pass_shellcheck(tmp_path: Path) -> None:
    for index, step in enumerate(steps_after_build(build(CiOptions("octo/app")))):
        if "run" not in step:
            continue
        path = tmp_path / f"step{index}.sh"
        path.write_text("#!/usr/bin/env bash\nset -e\n" + step["run"] + "\n", encoding="utf-8")
        result = subprocess.run(
            ["shellcheck", "--severity=style", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout


# ---------------------------------------------------------------------- only pinned code runs
#
# What each action the workflow uses fetches at run time beyond its own pinned commit, and the
# `with:` that pins it; read from each action.yml at the pinned commit. An action missing here
# fails the test until someone has read what it fetches.
#   setup-gcloud aa5489c: `version` defaults to "latest" (downloads the newest Cloud SDK);
#     `skip_install` uses the runner image's gcloud instead.
#   setup-qemu-action 96fe6ef: `image` defaults to docker.io/tonistiigi/binfmt:latest.
#   setup-buildx-action 37fe631: `driver` defaults to docker-container, which runs BuildKit from
#     moby/buildkit:buildx-stable-1 (buildx's default) unless `driver-opts` names `image=`;
#     `version` downloads buildx itself.
#   cosign-installer 6f9f177: the default `cosign-release` (v3.0.6) is checked against the
#     sha256 in its action.yml (`bootstrap_linux_amd64_sha`); another release is downloaded too.
#   anchore/sbom-action e22c389 (no longer used): syft's install.sh from the main branch.
NO_FETCH = {
    "actions/checkout",  # the repository itself
    "aws-actions/configure-aws-credentials",
    "aws-actions/amazon-ecr-login",
    "azure/login",  # the runner's az CLI
    "google-github-actions/auth",
    "docker/build-push-action",  # runs the user's build on the builder set up before
}
# A name, optionally a tag, and the digest that pins it (the tag is for the reader).
IMAGE_BY_DIGEST = re.compile(r"[^\s@]+@sha256:[0-9a-f]{64}")


def _action_fetches_unpinned(repository: str, with_: dict[str, str]) -> str | None:
    if repository in NO_FETCH:
        return None
    if repository == "google-github-actions/setup-gcloud":
        return None if with_.get("skip_install") == "true" else "the Cloud SDK, unpinned"
    if repository == "sigstore/cosign-installer":
        return "a cosign release by signature only" if "cosign-release" in with_ else None
    if repository == "docker/setup-qemu-action":
        image = with_.get("image", "docker.io/tonistiigi/binfmt:latest")
        return None if IMAGE_BY_DIGEST.fullmatch(image) else f"image {image}"
    if repository == "docker/setup-buildx-action":
        if "version" in with_:
            return "buildx, unpinned"
        if with_.get("driver") == "docker":
            return None
        options = dict(
            o.split("=", 1) for o in with_.get("driver-opts", "").splitlines() if "=" in o
        )
        image = options.get("image", "moby/buildkit:buildx-stable-1")
        return None if IMAGE_BY_DIGEST.fullmatch(image) else f"image {image}"
    return f"unreviewed action {repository}"


# Commands that download code or images. The only one allowed is `go install` of a module whose
# hash the same script has checked first (test_the_syft_build_refuses_a_module_with_another_hash).
FETCHERS = re.compile(
    r"\b(curl|wget|go\s+(?:install|get|run)|pip3?\s+install|npx|npm\s+(?:install|exec)|"
    r"docker\s+(?:pull|run)|apt(?:-get)?\s+install|gh\s+release\s+download)\b|\|\s*(?:ba)?sh\b"
)
GO_MODULE_HASH = re.compile(r"h1:[A-Za-z0-9+/]{43}=")
SEMVER = re.compile(r"v\d+\.\d+\.\d+")


def _script_fetches_unpinned(step: dict[str, Any]) -> list[str]:
    env = step.get("env", {})
    found = []
    for match in FETCHERS.finditer(step["run"]):
        command = re.sub(r"\s+", " ", match.group(0))
        hash_checked = (
            command == "go install"
            and SEMVER.fullmatch(env.get("VERSION", ""))
            and GO_MODULE_HASH.fullmatch(env.get("SUM", ""))
            and env.get("GOSUMDB") == "sum.golang.org"
            and step["run"].index('"$SUM"') < match.start()
        )
        if not hash_checked:
            found.append(f"{step['name']}: {command}")
    return found


def unpinned_fetches(document: dict[str, Any]) -> list[str]:
    """Every step that fetches code or an image not pinned by commit, digest or hash."""
    found: list[str] = []
    for job in document["jobs"].values():
        if "container" in job or "services" in job:
            found.append("a job container or service image")
        for step in job["steps"]:
            if "uses" in step:
                uses = step["uses"]
                if uses.startswith("docker://"):
                    if not IMAGE_BY_DIGEST.fullmatch(uses.removeprefix("docker://")):
                        found.append(f"{step['name']}: {uses}")
                    continue
                repository, _, commit = uses.partition("@")
                if not re.fullmatch(r"[0-9a-f]{40}", commit):
                    found.append(f"{step['name']}: {uses} is not pinned by commit")
                reason = _action_fetches_unpinned(repository, step.get("with", {}))
                if reason:
                    found.append(f"{step['name']}: {reason}")
            if "run" in step:
                found += _script_fetches_unpinned(step)
    return found


def _cloud_workflows(platform: str) -> dict[str, dict[str, Any]]:
    from container_registry.aws.access import login_steps as aws_login
    from container_registry.azure.access import login_steps as azure_login
    from container_registry.gcp.access import login_steps as gcp_login

    logins = {
        "aws": aws_login("arn:aws:iam::123456789012:role/push", "eu-west-1"),
        "azure": azure_login("client", "tenant", "subscription", "registry"),
        "gcp": gcp_login("projects/1/locations/global/workloadIdentityPools/p/providers/g",
                         "project", "europe-docker.pkg.dev"),
    }  # fmt: skip
    return {
        cloud: ci.workflow(
            CiOptions("octo/app", platform=platform),
            cloud_name=cloud,
            login_steps=steps,
            repo_endpoint=ENDPOINT,
            platform=platform,
        )
        for cloud, steps in logins.items()
    }


def test_the_checker_finds_what_the_old_workflow_fetched() -> None:
    """The checker itself: sbom-action (syft's install.sh from a branch), a `curl | sh`, an
    image by tag, an action by tag and setup-gcloud's default install are all found."""
    old = {
        "jobs": {
            "push": {
                "steps": [
                    {"name": "a", "uses": "anchore/sbom-action@" + "e" * 40},
                    {"name": "b", "run": "curl -sSfL https://example.invalid/install.sh | sh"},
                    {"name": "c", "uses": "docker://alpine:3"},
                    {"name": "d", "uses": "actions/checkout@v4"},
                    {"name": "e", "uses": "google-github-actions/setup-gcloud@" + "a" * 40},
                    {"name": "f", "run": 'go install "${MODULE}/x@${VERSION}"',
                     "env": {"VERSION": "v1.0.0"}},
                ]
            }
        }
    }  # fmt: skip
    found = unpinned_fetches(old)
    assert [f.split(":")[0] for f in found] == ["a", "b", "b", "c", "d", "e", "f"], found


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_no_step_fetches_unpinned_code(cloud: str) -> None:
    """Every step of the generated workflow, on every cloud, at the runner's native platform:
    actions by commit, tools by hash, images by digest."""
    assert unpinned_fetches(_cloud_workflows("linux/amd64")[cloud]) == []


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_an_emulated_platform_runs_binfmt_by_digest(cloud: str) -> None:
    """A platform the runner does not run natively adds setup-qemu-action, whose image runs
    privileged: by digest, on every cloud."""
    document = _cloud_workflows("linux/arm64")[cloud]
    steps = document["jobs"]["push"]["steps"]
    qemu = [s for s in steps if s.get("uses", "").startswith("docker/setup-qemu-action@")]
    assert len(qemu) == 1
    assert IMAGE_BY_DIGEST.fullmatch(qemu[0]["with"]["image"])
    assert unpinned_fetches(document) == []


def test_the_signing_tools_are_installed_before_the_login() -> None:
    steps = _cloud_workflows("linux/amd64")["aws"]["jobs"]["push"]["steps"]
    names = [s["name"] for s in steps]
    cosign = next(i for i, s in enumerate(steps) if s.get("uses") == COSIGN_INSTALLER)
    syft = next(i for i, n in enumerate(names) if n.startswith("Build syft"))
    login = next(i for i, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", ""))
    assert cosign < login and syft < login
    assert "with" not in steps[cosign], "the installer's default cosign is the sha256-checked one"
    # github.com/anchore/syft v1.42.3: `go mod download -json` printed this Sum, which the go
    # command checked against sum.golang.org (Go's checksum database).
    assert steps[syft]["env"]["MODULE"] == "github.com/anchore/syft"
    assert steps[syft]["env"]["VERSION"] == "v1.42.3"
    assert steps[syft]["env"]["SUM"] == "h1:eIeeGyqfXm/C8wpBWU50xFbOjdL37VbLatMj9nEJ6n4="


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize("module_sum", ["h1:" + "A" * 43 + "=", ""])
def test_the_syft_build_refuses_a_module_with_another_hash(tmp_path: Path, module_sum: str) -> None:
    """The install step runs with a stand-in `go` that reports another hash (or none): it stops
    before `go install`."""
    step = next(s for s in ci.tool_steps() if "run" in s)
    calls = tmp_path / "calls"
    fake = tmp_path / "go"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'if [ "$1 $2" = \'mod download\' ]; then echo \'{{"Sum": "{module_sum}"}}\'; fi\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={**step["env"], "PATH": f"{tmp_path}:/usr/bin:/bin",
             "GITHUB_PATH": str(tmp_path / "path")},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "not the pinned" in result.stderr
    assert calls.read_text().splitlines() == ["mod download -json github.com/anchore/syft@v1.42.3"]


def test_the_syft_build_installs_the_module_with_the_pinned_hash(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.fail("jq is not installed: apt-get install -y jq (.ci/run installs it)")
    step = next(s for s in ci.tool_steps() if "run" in s)
    calls = tmp_path / "calls"
    fake = tmp_path / "go"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        "if [ \"$1 $2\" = 'mod download' ]; then "
        'echo \'{"Sum": "h1:eIeeGyqfXm/C8wpBWU50xFbOjdL37VbLatMj9nEJ6n4="}\'; fi\n'
        "if [ \"$1 $2\" = 'env GOPATH' ]; then echo /home/runner/go; fi\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={**step["env"], "PATH": f"{tmp_path}:/usr/bin:/bin",
             "GITHUB_PATH": str(tmp_path / "path")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert calls.read_text().splitlines()[1] == "install github.com/anchore/syft/cmd/syft@v1.42.3"
    assert (tmp_path / "path").read_text() == "/home/runner/go/bin\n"


# ------------------------------------------------------------------ cosign's tag form, pinned
#
# The clean-up rules keep signatures in cosign's tag form (docs/supply-chain.md), which needs
# `--new-bundle-format=false` (and `--use-signing-config=false`, which needs the old format).
# Read from the sources, not from this program:
# sigstore/cosign-installer, `git show <commit>:action.yml`, input `cosign-release`, `default:`.
INSTALLER_DEFAULT_COSIGN = {
    "ba7bc0a3fef59531c69a25acd34668d6d3fe6f22": "v3.0.3",  # v4.1.0
    "cad07c2e89fa2edd6e2d7bab4c1aa38e53f76003": "v3.0.5",  # v4.1.1
    "6f9f17788090df1f26f669e9d70d6ae9567deba6": "v3.0.6",  # v4.1.2
}
# sigstore/cosign, cmd/cosign/cli/options/sign.go and attest.go at each tag: the flags the tag
# form needs, for `sign` and `attest`, each "kept" (defined, not MarkDeprecated) or
# "deprecated". v3.1.0 marks new-bundle-format deprecated in both ("this will be the only
# supported format in future versions").
TAG_FORM_FLAGS = {
    "v3.0.3": {"new-bundle-format": "kept", "use-signing-config": "kept"},
    "v3.0.5": {"new-bundle-format": "kept", "use-signing-config": "kept"},
    "v3.0.6": {"new-bundle-format": "kept", "use-signing-config": "kept"},
    "v3.1.0": {"new-bundle-format": "deprecated", "use-signing-config": "kept"},
    "v3.1.2": {"new-bundle-format": "deprecated", "use-signing-config": "kept"},
}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.removeprefix("v").split("."))


def tag_form_problems(cosign: str, steps: list[dict[str, Any]]) -> list[str]:
    """Why `cosign` (the installer's default) would not keep the tag form the sign and attest
    steps ask for."""
    problems = []
    if _release(cosign) >= (3, 1):
        problems.append(f"cosign {cosign} deprecates the tag form")
    for step in steps:
        flags = {
            arg.removeprefix("--").split("=")[0]: arg.split("=")[1]
            for arg in shlex.split(step["run"])
            if arg.startswith("--") and "=" in arg
        }
        if flags != {"new-bundle-format": "false", "use-signing-config": "false"}:
            problems.append(f"{step['name']}: {flags}")
        problems += [
            f"cosign {cosign}: --{flag} is {TAG_FORM_FLAGS[cosign].get(flag, 'gone')}"
            for flag in flags
            if TAG_FORM_FLAGS[cosign].get(flag) != "kept"
        ]
    return problems


def test_the_pinned_cosign_still_writes_the_tag_form() -> None:
    """Fails the day the installer pin brings cosign 3.1 or later (which deprecates the tag
    form's flag), or the workflow's flags are not all kept by the cosign it installs: then the
    clean-up rules must handle referrers first (docs/supply-chain.md)."""
    document = build(CiOptions("octo/app"))
    installer = next(
        s
        for s in document["jobs"]["push"]["steps"]
        if s.get("uses", "").startswith("sigstore/cosign-installer@")
    )
    commit = installer["uses"].partition("@")[2]
    assert commit in INSTALLER_DEFAULT_COSIGN, (
        f"cosign-installer {commit}: read its action.yml's default cosign-release into this table"
    )
    assert "cosign-release" not in installer.get("with", {})
    sign_and_attest = steps_after_build(document)[1:3]
    assert tag_form_problems(INSTALLER_DEFAULT_COSIGN[commit], sign_and_attest) == []


def test_the_check_refuses_cosign_3_1_and_a_missing_flag() -> None:
    sign_and_attest = steps_after_build(build(CiOptions("octo/app")))[1:3]
    assert tag_form_problems("v3.1.0", sign_and_attest) == [
        "cosign v3.1.0 deprecates the tag form",
        "cosign v3.1.0: --new-bundle-format is deprecated",
        "cosign v3.1.0: --new-bundle-format is deprecated",
    ]
    without = [{**step, "run": step["run"].replace(" --use-signing-config=false", "")}
               for step in sign_and_attest]  # fmt: skip
    assert len(tag_form_problems("v3.0.6", without)) == 2

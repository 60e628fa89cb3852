"""The generated workflow signs what it pushed, by digest, keylessly, and attests its SBOM; the `ci`
output says exactly how to verify it (issue 23 item 1; docs/supply-chain.md).

Literals come from the sources they name: the commits from the actions' own repositories
(`git rev-list -n1 <tag>`), the issuer and identity from GitHub's and Sigstore's documentation.
zizmor, GitHub's workflow schema and shellcheck judge the whole workflow in tests/test_ci.py; here
they judge the signing steps of a workflow built directly.
"""

from __future__ import annotations

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

# sigstore/cosign-installer: tag v4.1.2 is commit 6f9f177...; its action.yml installs cosign
# v3.0.6 by default.
COSIGN_INSTALLER = "sigstore/cosign-installer@6f9f17788090df1f26f669e9d70d6ae9567deba6"
# anchore/sbom-action: tag v0.24.0 is commit e22c389...
SBOM_ACTION = "anchore/sbom-action@e22c389904149dbc22b58101806040fa8d37a610"
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
    assert [s.get("uses") for s in after[:2]] == [COSIGN_INSTALLER, SBOM_ACTION]
    assert after[1]["with"] == {
        "image": f"{ENDPOINT}@{DIGEST}",
        "format": "spdx-json",
        "output-file": "sbom.spdx.json",
        "upload-artifact": "false",
        "upload-release-assets": "false",
    }
    sign, attest = after[2], after[3]
    for run in (sign, attest):
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
    ("options", "identity"),
    [
        (
            CiOptions("octo/app"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/heads/main",
        ),
        (
            CiOptions("octo/app", ref="refs/tags/v1.2", environment="production"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/tags/v1.2",
        ),
        (
            CiOptions("octo/app", owner_id="1", repository_id="2"),
            "https://github.com/octo/app/.github/workflows/push-image.yml@refs/heads/main",
        ),
    ],
)
def test_the_verify_commands_name_exactly_this_workflow_and_ref(
    options: CiOptions, identity: str
) -> None:
    """Fulcio puts the workflow's `job_workflow_ref` in the certificate as
    `https://github.com/<repository>/<workflow file>@<ref>` (GitHub's OIDC token docs and Sigstore's
    "OIDC usage in Fulcio"); the environment and the numeric IDs change nothing there."""
    values = ci.verification_values(options, ENDPOINT)
    assert values["certificateIdentity"] == identity
    assert values["certificateOidcIssuer"] == ISSUER
    flags = ["--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER]
    assert shlex.split(values["verifySignature"]) == [
        "cosign", "verify", *flags, f"{ENDPOINT}@DIGEST"
    ]  # fmt: skip
    assert shlex.split(values["verifySbom"]) == [
        "cosign", "verify-attestation", "--type", "spdxjson", *flags, f"{ENDPOINT}@DIGEST"
    ]  # fmt: skip
    # No regexp flag: an exact identity, not a pattern someone else's workflow could match.
    assert "regexp" not in values["verifySignature"]


def test_the_run_summary_prints_the_exact_commands(tmp_path: Path) -> None:
    options = CiOptions("octo/app", ref="refs/tags/v1.2")
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
    values = ci.verification_values(options, ENDPOINT)
    assert printed[1] == values["verifySignature"].replace("@DIGEST", f"@{digest}")
    assert printed[2] == values["verifySbom"].replace("@DIGEST", f"@{digest}")
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

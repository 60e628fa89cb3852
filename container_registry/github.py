"""Keyless push from GitHub Actions, the parts every cloud shares: the OIDC subject a cloud
trusts, and the workflow that logs in with the cloud's own action, pushes, signs and attests the
image (the `ci` options are checked in ci_input.py; what the workflow runs is pinned in
github_pins.py).

Pure functions over plain values: the cloud modules call them inside `apply` once the role ARN,
client ID or provider name is known. The workflow is built as Python data and dumped with PyYAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import yaml

from container_registry.github_pins import (
    BINFMT_IMAGE,
    BUILD_PUSH,
    CHECKOUT,
    COSIGN_INSTALLER,
    COSIGN_TAG_FORM,
    NATIVE_PLATFORMS,
    SBOM_FILE,
    SBOM_FORMAT,
    SBOM_PREDICATE_TYPE,
    SETUP_BUILDX,
    SETUP_QEMU,
    SYFT,
    Action,
    GoTool,
)
from container_registry.options import SUBJECT_CLAIM_KEYS, WORKFLOW_PATH, CiOptions
from container_registry.verification import verification_values


def oidc_subject(ci: CiOptions) -> str:
    """The `sub` claim every cloud trusts (CiOptions.subject): GitHub's immutable form
    `repo:<owner>@<owner id>/<name>@<repo id>:...` when ciRepository carries the IDs, else the
    name-only form `repo:<owner>/<name>:...`; never both."""
    return ci.subject


SUBJECT_FORMS = {True: "immutable", False: "name-only"}


def subject_template(ci: CiOptions) -> str:
    """The repository's OIDC subject template the trusted subject is written in: GitHub's
    `default`, or the `include_claim_keys` of ci.subject_includes_ref, comma-separated."""
    return ",".join(SUBJECT_CLAIM_KEYS) if ci.subject_includes_ref else "default"


def trusted_runs(ci: CiOptions, *, workflow: bool, events: Sequence[str] = ()) -> str:
    """What a cloud's trust admits, in words, for the `ci` output: the runs of the generated
    workflow file alone when the cloud can bind `job_workflow_ref` (`workflow`), and of its own
    triggers alone when it can bind `event_name` (`events`); else any workflow on this ref."""
    where = f"{ci.ref} of {ci.repository}"
    if ci.environment is not None:
        where += f", in jobs of the environment {ci.environment}"
    if not workflow:
        return f"any workflow on this ref: every workflow file at {where}, on any trigger"
    triggered = f"triggered by {' or '.join(events)}" if events else "on any trigger"
    return f"only {WORKFLOW_PATH} at {where}, {triggered}"


def subject_values(ci: CiOptions, trusts: str) -> dict[str, str]:
    """What the `ci` output says about the trust: the subject, which of GitHub's two forms it
    is, the template it is written in, which runs the cloud admits (`trusts`, trusted_runs), and
    the command that prints the prefix the repository's tokens actually carry (GitHub's REST
    API, "Get the customization template for an OIDC subject claim for a repository", field
    `sub_claim_prefix`)."""
    return {
        "subject": ci.subject,
        "subjectForm": SUBJECT_FORMS[ci.immutable],
        "subjectTemplate": subject_template(ci),
        "trusts": trusts,
        "checkTokenSubject": (
            f"gh api repos/{ci.repository}/actions/oidc/customization/sub --jq .sub_claim_prefix"
        ),
    }


def step(action: Action, name: str, **with_: str) -> dict[str, Any]:
    """A step that uses a pinned action."""
    document: dict[str, Any] = {"name": f"{name} ({action.repository} {action.release})"}
    document["uses"] = action.uses
    if with_:
        document["with"] = dict(with_)
    return document


def run_step(name: str, script: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A shell step. Values reach the script through `env`, never pasted into it, so nothing a
    value holds is run as shell."""
    document: dict[str, Any] = {"name": name}
    if env:
        document["env"] = dict(env)
    document["run"] = script
    return document


def workflow(
    ci: CiOptions,
    *,
    cloud_name: str,
    login_steps: Sequence[Mapping[str, Any]],
    repo_endpoint: str,
    platform: str,
    build_args: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The GitHub Actions workflow for the image's repository: log in keylessly, build the `ci`
    context for its platform (with build arguments: the base image from the mirror, when there is
    one), push `<repo_endpoint>:<commit sha>`, then sign that digest keylessly and attest its
    SBOM (signing_steps), and print the digest with the command that verifies it."""
    job: dict[str, Any] = {
        "name": f"Build {ci.context.rstrip('/')}/ and push it to {cloud_name}",
        "runs-on": "ubuntu-latest",
        # A run started by hand from another branch stops here, not at an opaque cloud error.
        # ci.ref holds no quote (CI_REF below), so the literal is safe in the expression.
        "if": f"github.ref == '{ci.ref}'",
        # The OIDC token (the cloud's login, and cosign's keyless certificate) and a read-only
        # checkout, for this job alone; nothing more.
        "permissions": {"id-token": "write", "contents": "read"},
    }
    if ci.environment is not None:
        job["environment"] = ci.environment
    steps: list[Mapping[str, Any]] = [
        step(CHECKOUT, "Check out", **{"persist-credentials": "false"}),
        # The signing tools come before the login: nothing they fetch runs with registry
        # credentials on disk, and each is pinned by hash (tool_steps).
        *tool_steps(),
        *login_steps,
    ]
    if platform not in NATIVE_PLATFORMS:
        steps.append(
            step(SETUP_QEMU, "Emulate the target platform", platforms=platform, image=BINFMT_IMAGE)
        )
    steps += [
        # Docker's own builder: the default docker-container driver would run BuildKit from
        # moby/buildkit:buildx-stable-1, an image pulled by tag into the job that holds the
        # login. With this driver buildx pushes through the daemon and reports the pushed
        # manifest's digest (docker/buildx, build/build.go: pushWithMoby, remoteDigestWithMoby).
        step(SETUP_BUILDX, "Set up Buildx", driver="docker"),
        {
            "id": "build",
            **step(
                BUILD_PUSH,
                "Build and push",
                context=ci.context,
                file=ci.dockerfile_path,
                platforms=platform,
                push="true",
                # One image manifest per push, as the clean-up windows count them
                # (provenance.py): buildx otherwise attaches a min-mode provenance attestation,
                # turning the push into an index plus untagged child manifests (Docker docs,
                # "Provenance attestations": added by default with `--push`), which an
                # untagged-delete rule could remove from under a kept image on a registry that
                # lists children as versions. The signature and the SBOM attestation are cosign's.
                provenance="false",
                tags=f"{repo_endpoint}:${{{{ github.sha }}}}",
                **(
                    {"build-args": "\n".join(f"{k}={v}" for k, v in sorted(build_args.items()))}
                    if build_args
                    else {}
                ),
            ),
        },
        *signing_steps(ci, repo_endpoint),
    ]
    job["steps"] = steps
    return {
        "name": "Push image",
        "on": ci.workflow_on,
        # Nothing for the workflow as a whole: the job asks for what it needs.
        "permissions": {},
        "concurrency": {"group": "push-image-${{ github.ref }}", "cancel-in-progress": False},
        "jobs": {"push": job},
    }


DIGEST = "${{ steps.build.outputs.digest }}"


# Nothing in the environment may send the go command past the checksum database or to another
# proxy (go help environment; go help module-auth): set to Go's defaults, whatever the runner or
# an organization's variables say.
GO_ENV = {
    "GOPROXY": "https://proxy.golang.org",
    "GOSUMDB": "sum.golang.org",
    "GONOSUMDB": "",
    "GONOSUMCHECK": "",
    "GOPRIVATE": "",
    "GOINSECURE": "",
    "GOFLAGS": "-mod=readonly",
}


def go_tool_step(tool: GoTool, name: str) -> dict[str, Any]:
    """Build `tool` from its module with the runner's go, after checking the module's hash."""
    script = "\n".join(
        [
            'sum="$(go mod download -json "${MODULE}@${VERSION}" | jq -r .Sum)"',
            'if [ "$sum" != "$SUM" ]; then',
            '  echo "${MODULE}@${VERSION} has hash ${sum}, not the pinned ${SUM}" >&2',
            "  exit 1",
            "fi",
            'go install "${MODULE}/${PACKAGE}@${VERSION}"',
            'echo "$(go env GOPATH)/bin" >> "$GITHUB_PATH"',
        ]
    )
    env = {
        **GO_ENV,
        "MODULE": tool.module,
        "PACKAGE": tool.package,
        "VERSION": tool.version,
        "SUM": tool.sum,
    }
    return run_step(f"{name} ({tool.module} {tool.version})", script, env=env)


def tool_steps() -> list[dict[str, Any]]:
    """cosign from the installer's sha256-checked default, syft from its hash-pinned module."""
    return [step(COSIGN_INSTALLER, "Install cosign"), go_tool_step(SYFT, "Build syft")]


def signing_steps(ci: CiOptions, repo_endpoint: str) -> list[dict[str, Any]]:
    """Sign the pushed digest (never a tag, which can move) with cosign, keylessly with the job's
    OIDC token; make its SBOM with syft and attest it; print the digest and how to verify it.
    Values reach the scripts through `env` only."""
    env = {"IMAGE": repo_endpoint, "DIGEST": DIGEST}
    cosign = ["cosign", "{verb}", "--yes", *COSIGN_TAG_FORM]
    commands = verification_values(ci, repo_endpoint)
    summary = "\n".join(
        [
            "{",
            '  echo "Pushed ${IMAGE}@${DIGEST}: signed, its SBOM attested. Verify with:"',
            # The `ci` output's commands, from env, with the digest filled in.
            "  printf '%s\\n' \"${VERIFY_SIGNATURE/@DIGEST/@$DIGEST}\"",
            "  printf '%s\\n' \"${VERIFY_SBOM/@DIGEST/@$DIGEST}\"",
            '} | tee -a "$GITHUB_STEP_SUMMARY"',
        ]
    )
    summary_env = {
        **env,
        "VERIFY_SIGNATURE": commands["verifySignature"],
        "VERIFY_SBOM": commands["verifySbom"],
    }
    return [
        run_step(
            "Make the SBOM",
            f'syft scan "registry:${{IMAGE}}@${{DIGEST}}" --output "{SBOM_FORMAT}={SBOM_FILE}"',
            env=env,
        ),
        run_step(
            "Sign the pushed digest",
            " ".join(cosign).format(verb="sign") + ' "${IMAGE}@${DIGEST}"',
            env=env,
        ),
        run_step(
            "Attest the SBOM",
            " ".join(cosign).format(verb="attest")
            + f' --type {SBOM_PREDICATE_TYPE} --predicate {SBOM_FILE} "${{IMAGE}}@${{DIGEST}}"',
            env=env,
        ),
        run_step("Print the digest and how to verify it", summary, env=summary_env),
    ]


def build_args_output(
    ci: CiOptions, mirror_endpoint: pulumi.Input[str] | None
) -> pulumi.Output[dict[str, str]]:
    """The workflow's build arguments, resolved: each of `ci.mirror_build_args` as the path of
    its Docker official image in the mirror, when there is a mirror; else none."""
    if mirror_endpoint is None or not ci.mirror_build_args:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(
        **{
            arg: pulumi.Output.concat(mirror_endpoint, "/", repository)
            for arg, repository in ci.mirror_build_args
        }
    )


def workflow_output(
    ci: CiOptions,
    *,
    cloud_name: str,
    login_steps: pulumi.Input[Sequence[Mapping[str, Any]]],
    repo_endpoint: pulumi.Input[str],
    mirror_endpoint: pulumi.Input[str] | None,
) -> pulumi.Output[str]:
    """The workflow's YAML once the cloud's values resolve: what each target's access module
    exports, built here once for aws, azure and gcp alike."""
    return pulumi.Output.all(
        login_steps, repo_endpoint, build_args_output(ci, mirror_endpoint)
    ).apply(
        lambda v: dump_workflow(
            workflow(
                ci,
                cloud_name=cloud_name,
                login_steps=v[0],
                repo_endpoint=v[1],
                platform=ci.platform,
                build_args=v[2],
            ),
            ci,
        )
    )


def workflow_header(ci: CiOptions | None) -> str:
    """Comment lines that say where the workflow came from and which `sub` the cloud trusts,
    with the repository's subject template that `sub` needs."""
    lines = [
        f"Generated by container-registry (a Registry's ci_workflow output) for {WORKFLOW_PATH}"
    ]
    if ci is not None:
        template = (
            "the repository's OIDC subject template include_claim_keys "
            + json.dumps(list(SUBJECT_CLAIM_KEYS))
            if ci.subject_includes_ref
            else "GitHub's default OIDC subject template"
        )
        lines += [
            f"The cloud trusts tokens whose sub is exactly {ci.subject}",
            f"which needs {template}; "
            f"`gh api repos/{ci.repository}/actions/oidc/customization/sub` shows it",
            f"and whose job_workflow_ref is {ci.job_workflow_ref} where the cloud checks it: "
            "commit this file at that path",
        ]
    return "".join(f"# {line}\n" for line in lines)


def dump_workflow(document: Mapping[str, Any], ci: CiOptions | None = None) -> str:
    """The workflow as YAML, keys in the order built; a comment header says where it came from
    and what GitHub must put in `sub` for the cloud to accept the job's token."""
    return workflow_header(ci) + yaml.safe_dump(dict(document), sort_keys=False, width=1000)

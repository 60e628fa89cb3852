"""Keyless push from GitHub Actions, the parts every cloud shares: the OIDC subject a cloud trusts
and the workflow that logs in with the cloud's own action and pushes the app image.

Pure functions over plain values: the cloud modules call them inside `apply` once the role ARN,
client ID or provider name is known. The workflow is built as Python data and dumped with PyYAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from registries.settings import SUBJECT_CLAIM_KEYS, CiSettings

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = f"https://{GITHUB_OIDC_HOST}"
WORKFLOW_PATH = ".github/workflows/push-image.yml"
# Platforms a GitHub-hosted ubuntu runner (x86-64) builds without QEMU.
NATIVE_PLATFORMS: tuple[str, ...] = ("linux/amd64", "linux/386")


@dataclass(frozen=True)
class CiAccess:
    """What a target exports when ciRepository is set: the values a workflow logs in with (none
    of them secret) and the workflow itself."""

    values: pulumi.Output[dict[str, str]]
    workflow: pulumi.Output[str]


@dataclass(frozen=True)
class Action:
    """A GitHub Action pinned to the commit of a release: a tag can be moved, a commit cannot.
    The release is named in the step, since a YAML dump keeps no comments."""

    repository: str
    commit: str
    release: str

    @property
    def uses(self) -> str:
        return f"{self.repository}@{self.commit}"


# Each commit is the one its release tag pointed at when this file was written (read from the
# action's own repository, `git rev-list -n1 <tag>`).
CHECKOUT = Action("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1")
AWS_CREDENTIALS = Action(
    "aws-actions/configure-aws-credentials", "e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"
)
ECR_LOGIN = Action(
    "aws-actions/amazon-ecr-login", "03f1aad4c6c7ffd436567f42f9384779290529bd", "v2.1.7"
)
AZURE_LOGIN = Action("azure/login", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1")
GOOGLE_AUTH = Action(
    "google-github-actions/auth", "7c6bc770dae815cd3e89ee6cdf493a5fab2cc093", "v3.0.0"
)
GOOGLE_SETUP_GCLOUD = Action(
    "google-github-actions/setup-gcloud", "aa5489c8933f4cc7a4f7d45035b3b1440c9c10db", "v3.0.1"
)
SETUP_QEMU = Action(
    "docker/setup-qemu-action", "96fe6ef7f33517b61c61be40b68a1882f3264fb8", "v4.2.0"
)
SETUP_BUILDX = Action(
    "docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"
)
BUILD_PUSH = Action(
    "docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"
)
ACTIONS: tuple[Action, ...] = (
    CHECKOUT,
    AWS_CREDENTIALS,
    ECR_LOGIN,
    AZURE_LOGIN,
    GOOGLE_AUTH,
    GOOGLE_SETUP_GCLOUD,
    SETUP_QEMU,
    SETUP_BUILDX,
    BUILD_PUSH,
)


def oidc_subject(ci: CiSettings) -> str:
    """The `sub` claim every cloud trusts (CiSettings.subject): GitHub's immutable form
    `repo:<owner>@<owner id>/<name>@<repo id>:...` when ciRepository carries the IDs, else the
    name-only form `repo:<owner>/<name>:...`; never both."""
    return ci.subject


SUBJECT_FORMS = {True: "immutable", False: "name-only"}


def subject_template(ci: CiSettings) -> str:
    """The repository's OIDC subject template the trusted subject is written in: GitHub's
    `default`, or the `include_claim_keys` of ciSubjectIncludesRef, comma-separated."""
    return ",".join(SUBJECT_CLAIM_KEYS) if ci.subject_includes_ref else "default"


def subject_values(ci: CiSettings) -> dict[str, str]:
    """What the `ci` output says about the trust: the subject, which of GitHub's two forms it
    is, and the command that prints the prefix the repository's tokens actually carry (GitHub's
    REST API, "Get the customization template for an OIDC subject claim for a repository",
    field `sub_claim_prefix`)."""
    return {
        "subject": ci.subject,
        "subjectForm": SUBJECT_FORMS[ci.immutable],
        "subjectTemplate": subject_template(ci),
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


def _trigger(ci: CiSettings) -> dict[str, Any]:
    """Run on a push of the trusted ref, or by hand; with an environment too, so that a push to
    any other branch never starts a job that asks for the environment's token."""
    kind, _, name = ci.ref.removeprefix("refs/").partition("/")
    return {"push": {"branches" if kind == "heads" else "tags": [name]}, "workflow_dispatch": None}


def workflow(
    ci: CiSettings,
    *,
    cloud_name: str,
    login_steps: Sequence[Mapping[str, Any]],
    repo_endpoint: str,
    platform: str,
    build_args: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The GitHub Actions workflow for the app's repository: log in keylessly, build app/ for the
    stack's platform (with the stack's build arguments: the base image from the mirror, when the
    stack has one), push `<repo_endpoint>:<commit sha>` and print the digest."""
    job: dict[str, Any] = {
        "name": f"Build app/ and push it to {cloud_name}",
        "runs-on": "ubuntu-latest",
        # A run started by hand from another branch stops here, not at an opaque cloud error.
        # ciRef holds no quote (settings._CI_REF), so the literal is safe in the expression.
        "if": f"github.ref == '{ci.ref}'",
        # The OIDC token and a read-only checkout, for this job alone; nothing more.
        "permissions": {"id-token": "write", "contents": "read"},
    }
    if ci.environment is not None:
        job["environment"] = ci.environment
    steps: list[Mapping[str, Any]] = [
        step(CHECKOUT, "Check out", **{"persist-credentials": "false"}),
        *login_steps,
    ]
    if platform not in NATIVE_PLATFORMS:
        steps.append(step(SETUP_QEMU, "Emulate the target platform", platforms=platform))
    steps += [
        step(SETUP_BUILDX, "Set up Buildx"),
        {
            "id": "build",
            **step(
                BUILD_PUSH,
                "Build and push",
                context="app",
                file="app/Dockerfile",
                platforms=platform,
                push="true",
                tags=f"{repo_endpoint}:${{{{ github.sha }}}}",
                **(
                    {"build-args": "\n".join(f"{k}={v}" for k, v in sorted(build_args.items()))}
                    if build_args
                    else {}
                ),
            ),
        },
        run_step(
            "Print the digest",
            'echo "Pushed ${IMAGE}@${DIGEST}" | tee -a "$GITHUB_STEP_SUMMARY"',
            env={"IMAGE": repo_endpoint, "DIGEST": "${{ steps.build.outputs.digest }}"},
        ),
    ]
    job["steps"] = steps
    return {
        "name": "Push image",
        "on": _trigger(ci),
        # Nothing for the workflow as a whole: the job asks for what it needs.
        "permissions": {},
        "concurrency": {"group": "push-image-${{ github.ref }}", "cancel-in-progress": False},
        "jobs": {"push": job},
    }


def build_args_output(
    build_args: Mapping[str, pulumi.Input[str]] | None,
) -> pulumi.Output[dict[str, str]]:
    """The workflow's build arguments, resolved (their values come from the mirror)."""
    return pulumi.Output.all(**build_args) if build_args else pulumi.Output.from_input({})


def workflow_header(ci: CiSettings | None) -> str:
    """Comment lines that say where the workflow came from and which `sub` the cloud trusts,
    with the repository's subject template that `sub` needs."""
    lines = [
        "Generated by the container-registry Pulumi stack: "
        f"`pulumi stack output ciWorkflow > {WORKFLOW_PATH}`",
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
        ]
    return "".join(f"# {line}\n" for line in lines)


def dump_workflow(document: Mapping[str, Any], ci: CiSettings | None = None) -> str:
    """The workflow as YAML, keys in the order built; a comment header says where it came from
    and what GitHub must put in `sub` for the cloud to accept the job's token."""
    return workflow_header(ci) + yaml.safe_dump(dict(document), sort_keys=False, width=1000)

"""Keyless push from GitHub Actions, the parts every cloud shares: the `ci` options checked, the
OIDC subject a cloud trusts, and the workflow that logs in with the cloud's own action and pushes
the image.

Pure functions over plain values: the cloud modules call them inside `apply` once the role ARN,
client ID or provider name is known. The workflow is built as Python data and dumped with PyYAML.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import pulumi
import yaml

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError, required
from container_registry.naming import DISTRIBUTION_NAME, flag, normal_platform, optional_text
from container_registry.options import SUBJECT_CLAIM_KEYS, WORKFLOW_PATH, CiOptions
from container_registry.signer import Signer

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = f"https://{GITHUB_OIDC_HOST}"
# Platforms a GitHub-hosted ubuntu runner (x86-64) builds without QEMU.
NATIVE_PLATFORMS: tuple[str, ...] = ("linux/amd64", "linux/386")


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
# The image setup-qemu-action runs privileged (its `image` input defaults to
# tonistiigi/binfmt:latest, action.yml at the commit above): a tag and its digest. Docker Hub
# cannot be reached from where this was written; the digest is the one independent public pins
# of qemu-v10.2.3 agree on (also Docker Hub's `latest` of 2026-10-04). A wrong digest fails the
# pull, it cannot run other code: a digest names one image.
BINFMT_IMAGE = (
    "docker.io/tonistiigi/binfmt:qemu-v10.2.3"
    "@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0"
)
SETUP_BUILDX = Action(
    "docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"
)
BUILD_PUSH = Action(
    "docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"
)
# Signing (docs/supply-chain.md): cosign-installer v4.1.2 installs cosign v3.0.6 (its action.yml,
# input `cosign-release`, default 'v3.0.6'), checked against the sha256 the action.yml itself
# holds (`bootstrap_linux_amd64_sha`) when no other release is asked for: so no `cosign-release`.
COSIGN_INSTALLER = Action(
    "sigstore/cosign-installer", "6f9f17788090df1f26f669e9d70d6ae9567deba6", "v4.1.2"
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
    COSIGN_INSTALLER,
)


@dataclass(frozen=True)
class GoTool:
    """A Go program built from its module at one version whose hash is pinned here: the go
    command checks the module against Go's checksum database and every dependency against the
    module's own go.sum; the install step also refuses a module whose `h1:` hash (SHA-256 of
    its files, golang.org/x/mod/sumdb/dirhash) is not this one."""

    module: str
    package: str
    version: str
    sum: str


# syft, built from source: anchore/sbom-action ran syft's install.sh from its main branch
# (src/github/SyftGithubAction.ts at v0.24.0: .../anchore/syft/main/install.sh) in the job that
# holds the OIDC token and the registry login. v1.42.3 is the version sbom-action v0.24.0 pinned
# (src/SyftVersion.ts); the hash is what `go mod download -json` printed for it, checked by the
# go command against sum.golang.org.
SYFT = GoTool(
    module="github.com/anchore/syft",
    package="cmd/syft",
    version="v1.42.3",
    sum="h1:eIeeGyqfXm/C8wpBWU50xFbOjdL37VbLatMj9nEJ6n4=",
)
# The SBOM, SPDX JSON, and the predicate type cosign attests it as (`cosign attest --type`).
SBOM_FILE = "sbom.spdx.json"
SBOM_FORMAT = "spdx-json"
SBOM_PREDICATE_TYPE = "spdxjson"
# cosign 3 stores signatures as Sigstore bundles through the OCI referrers API by default
# (cmd/cosign/cli/options/sign.go and attest.go: --new-bundle-format defaults to true). These
# flags keep cosign's tag form, `sha256-<hex>.sig` and `.att`, which every cloud's clean-up rules
# can select and keep (container_registry/provenance.py); referrers are untagged manifests that
# ECR's and Artifact Registry's untagged rules could expire. `cosign verify` reads either form
# (cmd/cosign/cli/verify/verify.go: it falls back to the tag form when it finds no bundle).
COSIGN_TAG_FORM = ("--new-bundle-format=false", "--use-signing-config=false")


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


def trigger(ci: CiOptions) -> dict[str, Any]:
    """Run on a push of the trusted ref, or by hand; with an environment too, so that a push to
    any other branch never starts a job that asks for the environment's token."""
    kind, _, name = ci.ref.removeprefix("refs/").partition("/")
    return {"push": {"branches" if kind == "heads" else "tags": [name]}, "workflow_dispatch": None}


def workflow_events(ci: CiOptions) -> tuple[str, ...]:
    """The events that start the generated workflow, as its jobs' tokens name them in
    `event_name` (GitHub docs, "Events that trigger workflows": the event's name is the `on` key).
    """
    return tuple(trigger(ci))


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
        "on": trigger(ci),
        # Nothing for the workflow as a whole: the job asks for what it needs.
        "permissions": {},
        "concurrency": {"group": "push-image-${{ github.ref }}", "cancel-in-progress": False},
        "jobs": {"push": job},
    }


DIGEST = "${{ steps.build.outputs.digest }}"


def certificate_identity(ci: CiOptions) -> str:
    """The identity in the signing certificate of a run of the generated workflow: GitHub's
    `job_workflow_ref` as a URI, `https://github.com/<owner>/<repo>/<workflow path>@<ref>`
    (Sigstore's Fulcio, "OIDC usage in Fulcio", GitHub Actions: the SAN is the workflow ref)."""
    return f"https://github.com/{ci.repository}/{WORKFLOW_PATH}@{ci.ref}"


def workflow_triggers(ci: CiOptions) -> tuple[str, ...]:
    """GitHub's `event_name` of the runs the generated workflow has: its own triggers."""
    return tuple(trigger(ci))


def signer(ci: CiOptions) -> Signer:
    """Whose signature the verification accepts: the generated workflow at the trusted ref of
    this repository (by its IDs, when ciRepository carries them), run by its own triggers."""
    return Signer(
        identity=certificate_identity(ci),
        issuer=GITHUB_OIDC_ISSUER,
        repository=ci.repository,
        ref=ci.ref,
        triggers=workflow_triggers(ci),
        repository_id=ci.repository_id,
        owner_id=ci.owner_id,
    )


def verify_commands(ci: CiOptions, repo_endpoint: str, digest: str) -> dict[str, str]:
    """The exact commands that check a digest the workflow pushed: its signature and its SBOM
    attestation, by this workflow on this ref and nothing else. cosign checks the signature,
    the identity, the issuer and (by name) the repository and ref; container_registry.signer
    then checks the certificate cosign verified for the repository and owner IDs, the workflow
    file and the trigger, which cosign has no flag for."""
    identity = [
        "--certificate-identity",
        certificate_identity(ci),
        "--certificate-oidc-issuer",
        GITHUB_OIDC_ISSUER,
        "--certificate-github-workflow-repository",
        ci.repository,
        "--certificate-github-workflow-ref",
        ci.ref,
        "--output",
        "json",
    ]
    image = f"{repo_endpoint}@{digest}"
    check = shlex.join(["python3", "-m", "container_registry.signer", *signer(ci).arguments()])
    return {
        "verifySignature": shlex.join(["cosign", "verify", *identity, image]) + " | " + check,
        "verifySbom": shlex.join(
            ["cosign", "verify-attestation", "--type", SBOM_PREDICATE_TYPE, *identity, image]
        )
        + " | "
        + check,
    }


def verification_values(ci: CiOptions, repo_endpoint: str) -> dict[str, str]:
    """What the `ci` output says about signatures: the certificate identity and issuer, and the
    commands that verify a digest the workflow pushed (`DIGEST` stands for the `sha256:...` it
    printed; the run's summary prints them with the digest filled in)."""
    return {
        "certificateIdentity": certificate_identity(ci),
        "certificateOidcIssuer": GITHUB_OIDC_ISSUER,
        **verify_commands(ci, repo_endpoint, "DIGEST"),
    }


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


# --- the `ci` options, checked

# GitHub: an owner (user or organization) is 1 to 39 letters, digits or single hyphens, neither
# first nor last; a repository name is 1 to 100 ASCII letters, digits, '.', '-' or '_', and
# '.' and '..' are reserved.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_GITHUB_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitHub's immutable subject claims append the owner's and the repository's numeric IDs to their
# names with '@' (`repo:octocat@123456/my-repo@456789:ref:...`; GitHub docs, "OpenID Connect
# reference", "Immutable subject claims"). The IDs are positive decimal integers (the REST API's
# `.owner.id` and `.id`), carried in the token as the strings `repository_owner_id` and
# `repository_id`.
_GITHUB_ID = re.compile(r"[1-9][0-9]{0,19}")
# A branch or tag ref, in a subset of git's check-ref-format rules that is also free of the glob
# characters of GitHub's `on.push` filters (`*`, `?`, `+`, `!`, `[`): components of letters,
# digits, '.', '_' and '-', not starting with '.', not ending with '.lock' or '.'.
_REF_COMPONENT = r"(?!\.)[A-Za-z0-9._-]+(?<!\.lock)(?<!\.)"
CI_REF = re.compile(rf"(?!.*\.\.)refs/(?:heads|tags)/{_REF_COMPONENT}(?:/{_REF_COMPONENT})*")
CI_ENVIRONMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")
# A path in the repository: no absolute path, no `..`, no quote or shell metacharacter.
_REPO_PATH = re.compile(r"(?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9._/-]{1,200}")
_BUILD_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# google.subject holds at most 127 bytes (Google Cloud, "Workload Identity Federation",
# attribute mappings); gcp/access.py maps the token's job_workflow_ref to it.
GCP_SUBJECT_MAX = 127
REPOSITORY_RULE = (
    "is not a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID with "
    "GitHub's numeric IDs: the owner 1 to 39 letters, digits or single hyphens, the name "
    "1 to 100 letters, digits, '.', '-' or '_', each ID decimal digits; wildcards and "
    "a bare owner are never allowed"
)
ONE_ID_RULE = (
    "carries only one of the two IDs: GitHub's immutable subject appends both, as "
    "owner@OWNER_ID/name@REPO_ID"
)


def ref_and_environment(ci: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`ci.ref` and `ci.environment`, each checked, None when not given (and
    `ci.subject_includes_ref`, which must be a boolean)."""
    flag(ci, "subject_includes_ref", "ci.subject_includes_ref")
    ref = optional_text(
        ci,
        "ref",
        "ci.ref",
        CI_REF,
        "is not a branch or tag ref such as refs/heads/main or refs/tags/v1: components of "
        "letters, digits, '.', '_' and '-' (no wildcards), not starting with '.'",
    )
    environment = optional_text(
        ci,
        "environment",
        "ci.environment",
        CI_ENVIRONMENT,
        "is not a GitHub environment name: 1 to 255 letters, digits, '.', '_' or '-' "
        "(no wildcards)",
    )
    return ref, environment


def resolve_ci(ci: Mapping[str, Any] | None, cloud: str) -> CiOptions | None:
    """The `ci` options checked; None when `ci` is not given. Everything is checked before the
    cloud is, so a typo shows up at once."""
    if not ci:
        return None
    ref, environment = ref_and_environment(ci)
    value = ci.get("repository")
    if not value:
        raise required("ci.repository", "the GitHub repository whose runs may push")
    if not isinstance(value, str):
        raise ArgumentError("ci.repository", value, REPOSITORY_RULE)
    owner, slash, name = value.partition("/")
    owner, owner_at, owner_id = owner.partition("@")
    name, name_at, repository_id = name.partition("@")
    if (
        not slash
        or not _GITHUB_OWNER.fullmatch(owner)
        or not _GITHUB_REPO_NAME.fullmatch(name)
        or name in (".", "..")
        or (owner_at and not _GITHUB_ID.fullmatch(owner_id))
        or (name_at and not _GITHUB_ID.fullmatch(repository_id))
    ):
        raise ArgumentError("ci.repository", value, REPOSITORY_RULE)
    if bool(owner_at) != bool(name_at):
        raise ArgumentError("ci.repository", value, ONE_ID_RULE)
    if cloud == "local":
        raise ArgumentError(
            "ci.repository",
            value,
            "is not allowed with cloud local: the local registry listens on 127.0.0.1, which "
            "hosted CI runners cannot reach; choose aws, azure or gcp",
        )
    options = CiOptions(
        repository=f"{owner}/{name}",
        ref=ref or str(DEFAULTS["ci.ref"]),
        environment=environment,
        owner_id=owner_id or None,
        repository_id=repository_id or None,
        subject_includes_ref=flag(ci, "subject_includes_ref", "ci.subject_includes_ref"),
        context=_repo_path(ci, "context") or str(DEFAULTS["ci.context"]),
        dockerfile=_repo_path(ci, "dockerfile"),
        platform=normal_platform(str(ci.get("platform") or DEFAULTS["ci.platform"]), "ci.platform"),
        mirror_build_args=_mirror_build_args(ci.get("mirror_build_args")),
    )
    _require_ref_in_environment_subject(options, cloud)
    # google.subject holds at most 127 bytes: the value checked is the workflow's own
    # job_workflow_ref, which gcp/access.py maps to it (`sub` with the template is longer).
    if cloud == "gcp" and len(options.job_workflow_ref.encode()) > GCP_SUBJECT_MAX:
        path, given = (
            ("ci.ref", options.ref)
            if len(options.ref) >= len(options.repository)
            else ("ci.repository", value)
        )
        raise ArgumentError(
            path,
            given,
            f"makes the workflow's job_workflow_ref {options.job_workflow_ref!r}, which Google "
            f"Cloud's google.subject holds, longer than its {GCP_SUBJECT_MAX} bytes; use a "
            "shorter name",
        )
    return options


def _repo_path(ci: Mapping[str, Any], key: str) -> str | None:
    return optional_text(
        ci,
        key,
        f"ci.{key}",
        _REPO_PATH,
        "is not a path inside the repository: letters, digits, '.', '_', '-' and '/', "
        "relative, without '..'",
    )


def _mirror_build_args(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ArgumentError(
            "ci.mirror_build_args", value, "is not a map of build argument to image name"
        )
    found: list[tuple[str, str]] = []
    for arg, repository in cast("dict[object, object]", value).items():
        path = f"ci.mirror_build_args.{arg}"
        if not isinstance(arg, str) or not _BUILD_ARG.fullmatch(arg):
            raise ArgumentError(path, arg, "is not a build argument name")
        if not isinstance(repository, str) or not DISTRIBUTION_NAME.fullmatch(repository):
            raise ArgumentError(path, repository, "is not a Docker official image name")
        found.append((arg, repository))
    return tuple(sorted(found))


def _require_ref_in_environment_subject(ci: CiOptions, cloud: str) -> None:
    """Azure compares `sub` alone, and GitHub's default subject for a job in an environment
    names no ref: any branch naming the environment would be trusted. So ci.environment there
    needs the template that adds the ref, and the caller's word that the repository has it
    (ci.subject_includes_ref). AWS binds the ref through job_workflow_ref as well, but only
    since 2026 (aws/access.py, trust_policy): it keeps the ref in `sub` too, the claim IAM has
    always evaluated. Google Cloud checks `assertion.ref` itself."""
    if ci.environment is None or ci.subject_includes_ref or cloud not in ("aws", "azure"):
        return
    raise ArgumentError(
        "ci.subject_includes_ref",
        None,
        f"is not true, and ci.environment is set: on {cloud} the default OIDC subject of a job "
        "in an environment names no ref, so a job on any branch that names the environment "
        "would be trusted. Set the repository's subject template to "
        f"{', '.join(SUBJECT_CLAIM_KEYS)} (tokens then carry "
        f"{replace(ci, subject_includes_ref=True).subject})",
    )

"""What the generated GitHub workflow runs, each pinned: the actions by full commit SHA (the release
tag beside it), the images by digest, the Go tools by module hash, and cosign's tag-form flags.

One place to update a pin; container_registry/github.py builds the workflow from these and
tests/test_supply_chain_workflow.py checks that nothing else is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

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

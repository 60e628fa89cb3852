"""How to verify what the generated workflow signs: the identity in its signing certificate and
the commands (cosign, then container_registry.signer for what cosign has no flag for) that check
a digest it pushed. The `ci` output prints them; the workflow's summary step too (github.py)."""

from __future__ import annotations

import shlex

from container_registry.github_pins import GITHUB_OIDC_ISSUER, SBOM_PREDICATE_TYPE
from container_registry.options import WORKFLOW_PATH, CiOptions
from container_registry.signer import Signer


def certificate_identity(ci: CiOptions) -> str:
    """The identity in the signing certificate of a run of the generated workflow: GitHub's
    `job_workflow_ref` as a URI, `https://github.com/<owner>/<repo>/<workflow path>@<ref>`
    (Sigstore's Fulcio, "OIDC usage in Fulcio", GitHub Actions: the SAN is the workflow ref)."""
    return f"https://github.com/{ci.repository}/{WORKFLOW_PATH}@{ci.ref}"


def signer(ci: CiOptions) -> Signer:
    """Whose signature the verification accepts: the generated workflow at the trusted ref of
    this repository (by its IDs, when ciRepository carries them), run by its own triggers."""
    return Signer(
        identity=certificate_identity(ci),
        issuer=GITHUB_OIDC_ISSUER,
        repository=ci.repository,
        ref=ci.ref,
        triggers=ci.workflow_events,
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

"""Who signed it: the second half of the verification the `ci` output prints (docs/supply-chain.md).

`cosign verify` checks the signature, Rekor's entry and the certificate's identity (the workflow
file at the ref) and issuer; its GitHub flags compare names only, and it has none for the IDs
(sigstore/cosign, cmd/cosign/cli/options/certificate.go: `--certificate-github-workflow-*` read
the name extensions 1.3.6.1.4.1.57264.1.2-1.6). A repository deleted and re-created under the
same `owner/name` gets the same names and new IDs, so names alone would accept its signatures.

This reads what `cosign verify --output json` printed for the signatures it verified, takes each
one's certificate from its Rekor entry (cosign has compared that certificate with the signature's:
pkg/cosign/verify.go, VerifyBundle and comparePublicKey), and accepts when one of them satisfies
sigstore-python's policy (sigstore.verify.policy) over Fulcio's extensions ("Sigstore OID
information", fulcio docs/oid-info.md): the source repository identifier (1.15) and owner
identifier (1.17), the build config (1.18, the workflow file at its ref), the source repository
and ref (1.12, 1.14) and the trigger (1.20, GitHub's `event_name`).

    cosign verify ... --output json IMAGE@DIGEST | python -m container_registry.signer ...
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EXTRA = 'pip install "container-registry[verify]"'


@dataclass(frozen=True)
class Signer:
    """The signer a verification accepts: one workflow file at one ref of one repository,
    started by one of its own triggers."""

    identity: str
    """The certificate's SAN and build config URI: `https://github.com/O/R/<workflow>@<ref>`."""
    issuer: str
    repository: str
    """`owner/name`."""
    ref: str
    triggers: tuple[str, ...]
    repository_id: str | None = None
    owner_id: str | None = None

    def arguments(self) -> list[str]:
        """The command-line form `main` reads back (what the `ci` output prints)."""
        argv = ["--identity", self.identity, "--issuer", self.issuer]
        argv += ["--repository", self.repository, "--ref", self.ref]
        if self.repository_id is not None and self.owner_id is not None:
            argv += ["--repository-id", self.repository_id, "--owner-id", self.owner_id]
        for trigger in self.triggers:
            argv += ["--trigger", trigger]
        return argv


def policy(signer: Signer) -> Any:
    """sigstore-python's policy for `signer`: every extension must match, the trigger one of
    the allowed."""
    try:
        from sigstore.verify import policy as p
    except ImportError as error:  # pragma: no cover - the extra's absence
        raise SystemExit(f"checking the signer needs sigstore: {EXTRA}") from error
    checks: list[Any] = [
        p.Identity(identity=signer.identity),
        p.OIDCIssuerV2(signer.issuer),
        p.OIDCBuildConfigURI(signer.identity),
        p.OIDCSourceRepositoryURI(f"https://github.com/{signer.repository}"),
        p.OIDCSourceRepositoryRef(signer.ref),
        p.AnyOf([p.OIDCBuildTrigger(trigger) for trigger in signer.triggers]),
    ]
    if signer.repository_id is not None and signer.owner_id is not None:
        checks += [
            p.OIDCSourceRepositoryIdentifier(signer.repository_id),
            p.OIDCSourceRepositoryOwnerIdentifier(signer.owner_id),
        ]
    return p.AllOf(checks)


def certificates(verified: Sequence[dict[str, Any]]) -> list[bytes]:
    """The PEM certificate of each signature cosign verified: in its Rekor bundle's entry
    (`optional.Bundle.Payload.body`, a base64 `hashedrekord` whose
    `spec.signature.publicKey.content` is the base64 PEM certificate)."""
    found: list[bytes] = []
    for signature in verified:
        body = (((signature.get("optional") or {}).get("Bundle") or {}).get("Payload") or {}).get(
            "body"
        )
        if not isinstance(body, str):
            continue
        entry = json.loads(base64.b64decode(body))
        key = entry.get("spec", {}).get("signature", {}).get("publicKey", {}).get("content")
        if isinstance(key, str):
            found.append(base64.b64decode(key))
    return found


def check(signer: Signer, verified: Sequence[dict[str, Any]]) -> list[str]:
    """Why each verified signature's certificate is refused; empty when one is accepted."""
    from cryptography import x509
    from sigstore.errors import VerificationError

    rule = policy(signer)
    reasons: list[str] = []
    pems = certificates(verified)
    if not pems:
        return ["no verified signature carries a Rekor entry with its certificate"]
    for pem in pems:
        try:
            rule.verify(x509.load_pem_x509_certificate(pem))
        except VerificationError as error:
            reasons.append(str(error))
        else:
            return []
    return reasons


def parse(argv: Sequence[str]) -> Signer:
    parser = argparse.ArgumentParser(prog="python -m container_registry.signer")
    parser.add_argument("--identity", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--repository-id")
    parser.add_argument("--owner-id")
    parser.add_argument("--trigger", action="append", required=True)
    args = parser.parse_args(argv)
    return Signer(
        identity=args.identity,
        issuer=args.issuer,
        repository=args.repository,
        ref=args.ref,
        triggers=tuple(args.trigger),
        repository_id=args.repository_id,
        owner_id=args.owner_id,
    )


def main(argv: Sequence[str] | None = None, stdin: str | None = None) -> int:
    signer = parse(sys.argv[1:] if argv is None else argv)
    text = sys.stdin.read() if stdin is None else stdin
    verified = json.loads(text) if text.strip() else []
    reasons = check(signer, verified)
    if reasons:
        print("refused: no verified signature is by this repository's workflow", file=sys.stderr)
        for reason in reasons:
            print(f"  {reason}", file=sys.stderr)
        return 1
    print(f"signed by {signer.identity}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

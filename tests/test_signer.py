"""The verification the `ci` output prints binds IDs, the workflow and the trigger (issue 27
item 3): the certificate checks its second half runs, on real X.509 certificates built here with
Fulcio's extensions, literally as Fulcio writes them for a GitHub Actions token.

Fulcio's extensions ("Sigstore OID information", sigstore/fulcio docs/oid-info.md): 1.8 issuer,
1.9 build signer URI, 1.12 source repository URI, 1.14 source repository ref, 1.15 source
repository identifier (GitHub's `repository_id`), 1.17 source repository owner identifier
(`repository_owner_id`), 1.18 build config URI (`https://github.com/` + `workflow_ref`), 1.20
build trigger (`event_name`); each a DER UTF8String. The SAN is the `job_workflow_ref` as a URI.
No real certificate of this repository exists, so each is made from those fields and signed by a
throwaway key: what is checked is the policy, cosign has checked the signature chain before it.
"""

from __future__ import annotations

import base64
import datetime
import json
import shlex
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from container_registry.options import CiOptions
from container_registry.signer import main
from container_registry.verification import verification_values

ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW = "https://github.com/octo/app/.github/workflows/push-image.yml@refs/heads/main"
# The trusted repository: octo (owner ID 1001) / app (repository ID 2002).
CI = CiOptions("octo/app", owner_id="1001", repository_id="2002")
ENDPOINT = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
KEY = ec.generate_private_key(ec.SECP256R1())


def _utf8(value: str) -> bytes:
    """DER UTF8String (tag 0x0C), as Fulcio encodes the extensions from 1.8 on."""
    data = value.encode()
    length = bytes([len(data)]) if len(data) < 128 else bytes([0x81, len(data)])
    return b"\x0c" + length + data


def certificate(**claims: str) -> bytes:
    """A Fulcio-shaped certificate for a run of `workflow` (a claim overrides a field)."""
    fields = {
        "san": WORKFLOW,
        "issuer": ISSUER,
        "repository": "https://github.com/octo/app",
        "ref": "refs/heads/main",
        "repository_id": "2002",
        "owner_id": "1001",
        "build_config": WORKFLOW,
        "trigger": "push",
        **claims,
    }
    oids = {
        "issuer": "1.3.6.1.4.1.57264.1.8",
        "build_signer": "1.3.6.1.4.1.57264.1.9",
        "repository": "1.3.6.1.4.1.57264.1.12",
        "ref": "1.3.6.1.4.1.57264.1.14",
        "repository_id": "1.3.6.1.4.1.57264.1.15",
        "owner_id": "1.3.6.1.4.1.57264.1.17",
        "build_config": "1.3.6.1.4.1.57264.1.18",
        "trigger": "1.3.6.1.4.1.57264.1.20",
    }
    fields.setdefault("build_signer", fields["san"])
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(fields["san"])]),
            critical=True,
        )
    )
    for key, oid in oids.items():
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), _utf8(fields[key])),
            critical=False,
        )
    cert = builder.sign(KEY, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def cosign_output(*pems: bytes) -> str:
    """What `cosign verify --output json` prints for signatures in cosign's tag form: each with
    its Rekor bundle, whose body is the `hashedrekord` entry holding the certificate
    (cmd/cosign/cli/verify/common.go, PrintVerification; pkg/cosign/bundle, RekorBundle)."""
    signatures: list[dict[str, Any]] = []
    for pem in pems:
        entry = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": "ab" * 32}},
                "signature": {
                    "content": "c2ln",
                    "publicKey": {"content": base64.b64encode(pem).decode()},
                },
            },
        }
        signatures.append(
            {
                "critical": {
                    "identity": {"docker-reference": ENDPOINT},
                    "image": {"docker-manifest-digest": "sha256:" + "cd" * 32},
                    "type": "cosign container image signature",
                },
                "optional": {
                    "Bundle": {
                        "SignedEntryTimestamp": "c2V0",
                        "Payload": {
                            "body": base64.b64encode(json.dumps(entry).encode()).decode(),
                            "integratedTime": 1,
                            "logIndex": 1,
                            "logID": "00",
                        },
                    },
                    "Issuer": ISSUER,
                    "Subject": WORKFLOW,
                },
            }
        )
    return json.dumps(signatures)


def printed_check(ci: CiOptions, key: str = "verifySignature") -> list[str]:
    """The arguments of the signer check in the command the `ci` output prints."""
    command = verification_values(ci, ENDPOINT)[key]
    _, _, check = command.partition(" | ")
    argv = shlex.split(check)
    assert argv[:3] == ["python3", "-m", "container_registry.signer"]
    return argv[3:]


@pytest.mark.parametrize("key", ["verifySignature", "verifySbom"])
def test_the_generated_workflows_certificate_is_accepted(key: str) -> None:
    assert main(printed_check(CI, key), cosign_output(certificate())) == 0
    # Run by hand (workflow_dispatch), the generated workflow's other trigger.
    by_hand = cosign_output(certificate(trigger="workflow_dispatch"))
    assert main(printed_check(CI, key), by_hand) == 0


REFUSED = {
    # octo/app deleted and created again: the same names, new IDs.
    "re-created repository": {"repository_id": "9999"},
    # the owner account deleted and its name taken by someone else, who creates `app`
    "re-created owner": {"owner_id": "8888", "repository_id": "9999"},
    "another workflow file on the same ref": {
        "san": "https://github.com/octo/app/.github/workflows/other.yml@refs/heads/main",
        "build_config": "https://github.com/octo/app/.github/workflows/other.yml@refs/heads/main",
    },
    # a reusable workflow called by another file: the SAN is the called workflow, the build
    # config is the caller
    "the workflow called from another file": {
        "build_config": "https://github.com/octo/app/.github/workflows/other.yml@refs/heads/main"
    },
    "the same workflow under schedule": {"trigger": "schedule"},
    "the same workflow under workflow_run": {"trigger": "workflow_run"},
    "the same workflow under pull_request_target": {"trigger": "pull_request_target"},
    "another ref": {"ref": "refs/heads/dev"},
    "another issuer": {"issuer": "https://accounts.google.com"},
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_certificate_from_elsewhere_is_refused(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(printed_check(CI), cosign_output(certificate(**REFUSED[case]))) == 1
    assert "refused" in capsys.readouterr().err


def test_the_re_created_repository_differs_from_the_trusted_one_only_in_ids() -> None:
    """The case the issue names: every name field of the re-created repository's certificate is
    the trusted one's, so cosign's name flags accept it; only the IDs tell them apart."""
    trusted = x509.load_pem_x509_certificate(certificate())
    again = x509.load_pem_x509_certificate(certificate(repository_id="9999"))
    differ = {
        ext.oid.dotted_string
        for ext in trusted.extensions
        if ext.value != again.extensions.get_extension_for_oid(ext.oid).value
    }
    assert differ == {"1.3.6.1.4.1.57264.1.15"}


def test_one_signature_by_the_workflow_among_others_is_enough() -> None:
    """cosign lists every signature that passed its checks; a second one, from a re-created
    repository, neither adds nor takes away."""
    listing = cosign_output(certificate(repository_id="9999"), certificate())
    assert main(printed_check(CI), listing) == 0


def test_nothing_verified_is_refused() -> None:
    assert main(printed_check(CI), "[]") == 1
    assert main(printed_check(CI), "") == 1


def test_without_ids_only_names_are_checked() -> None:
    """A name-only ciRepository carries no IDs, so the check has none to compare: the
    re-created repository is then accepted (as the clouds, trusting the name-only subject, would
    accept its token). docs/supply-chain.md says so; ciRepository with IDs closes it."""
    name_only = printed_check(CiOptions("octo/app"))
    assert "--repository-id" not in name_only
    assert main(name_only, cosign_output(certificate(repository_id="9999"))) == 0
    assert main(name_only, cosign_output(certificate(trigger="schedule"))) == 1

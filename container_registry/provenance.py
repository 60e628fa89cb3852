"""What every target's clean-up must know about signatures and SBOMs (docs/supply-chain.md).

The generated workflow signs each image it pushes with cosign, then attests its SBOM, in cosign's
tag form: a signature manifest under `sha256-<hex>.sig` and an attestation under
`sha256-<hex>.att`, pushed right after the image (sigstore/cosign, pkg/oci/remote/remote.go,
SignatureTag and AttestationTag). Signing or attesting a digest again replaces that manifest with
a new one, pushed then: an older image's signatures become the youngest.

`keepTaggedImages` N means N images, signed or not, wherever a cloud's rules can tell an image's
tag from a signature's: acr-cli's tag regex can (azure/registry.py), and so can the local
retention (local/retention.py), which also relates each signature to its image.

ECR's lifecycle rules and Artifact Registry's cleanup policies cannot: a count counts every
tagged manifest, signatures included (ECR: a lower rule still "identifies" what a higher rule
claimed; Artifact Registry: most_recent_versions counts versions). There the window is
`tagged_window`: N tagged manifests when nothing signs (no `ci`: exactly N images), else
3N + RESIGN_HEADROOM (N signed images with their signature and attestation, and room for one
older digest signed and attested again). An image kept there has its signatures kept too: they
are younger than it, so inside the same window. Unsigned images (`./up.sh` pushes one) then make
up to 3N + RESIGN_HEADROOM images: more kept, never a kept image's signature less.
"""

from __future__ import annotations

import re

from container_registry.options import ServiceOptions

# cosign's tag scheme: `<algorithm>-<hex>` of the signed digest, then `.sig` / `.att` (and the
# OCI referrers tag schema's `sha256-<hex>` index, distribution-spec 1.1, "Referrers Tag Schema").
SIGNATURE_TAG_PREFIX = "sha256-"
SIGNATURE_SUFFIXES = (".sig", ".att")
# The image, its signature and its attestation.
ARTIFACTS_PER_IMAGE = 1 + len(SIGNATURE_SUFFIXES)
# One older digest signed and attested again between two clean-up runs.
RESIGN_HEADROOM = len(SIGNATURE_SUFFIXES)

SIGNATURE_TAG = re.compile(r"^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$")


def signs(options: ServiceOptions) -> bool:
    """Whether the repository gets cosign's signatures: the generated workflow (`ci`) signs
    every image it pushes."""
    return options.ci is not None


def tagged_window(options: ServiceOptions) -> int:
    """How many tagged manifests a cloud that counts signatures as images keeps (ECR rule 3,
    Artifact Registry's keep-newest): exactly `keepTaggedImages` when nothing signs, else room
    for that many signed images and one re-signed older digest."""
    keep = options.keep_tagged_images
    return keep * ARTIFACTS_PER_IMAGE + RESIGN_HEADROOM if signs(options) else keep


def signature_window(options: ServiceOptions) -> int:
    """How many signature tags to keep where images are counted apart (acr-cli): the kept
    images' signatures and attestations, and one re-signed older digest's."""
    return options.keep_tagged_images * len(SIGNATURE_SUFFIXES) + RESIGN_HEADROOM


def is_signature_tag(tag: str) -> bool:
    """A tag cosign (or the referrers tag schema) owns: never an image's own tag."""
    return SIGNATURE_TAG.match(tag) is not None

"""What every target's clean-up must know about signatures and SBOMs (docs/supply-chain.md).

The generated workflow signs each image it pushes with cosign, then attests its SBOM, in cosign's
tag form: a signature manifest under `sha256-<hex>.sig` and an attestation under
`sha256-<hex>.att`, pushed right after the image (sigstore/cosign, pkg/oci/remote/remote.go,
SignatureTag and AttestationTag). Tags are what every cloud's clean-up rules can select (ECR tag
patterns, Artifact Registry tag prefixes, acr-cli tag regexes); OCI referrers (untagged manifests
with a `subject`) are not selectable by ECR's or Artifact Registry's rules at all.

So the clouds count a kept image's signature and attestation among the tagged manifests they keep:
`keepTaggedImages` N keeps the newest N x ARTIFACTS_PER_IMAGE tagged manifests. An image among
them has its signature and attestation among them too, as they are younger than it (pushed after
it); with every image signed that is exactly N images. Unsigned images (the program's own pushes)
make it up to N x ARTIFACTS_PER_IMAGE images: clean-up keeps more, never a kept image's
signature less.
"""

from __future__ import annotations

import re

# cosign's tag scheme: `<algorithm>-<hex>` of the signed digest, then `.sig` / `.att` (and the
# OCI referrers tag schema's `sha256-<hex>` index, distribution-spec 1.1, "Referrers Tag Schema").
SIGNATURE_TAG_PREFIX = "sha256-"
SIGNATURE_SUFFIXES = (".sig", ".att")
# The image, its signature and its attestation.
ARTIFACTS_PER_IMAGE = 1 + len(SIGNATURE_SUFFIXES)

SIGNATURE_TAG = re.compile(r"^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$")


def tagged_window(keep_tagged_images: int) -> int:
    """How many tagged manifests the clouds keep for `keepTaggedImages` images."""
    return keep_tagged_images * ARTIFACTS_PER_IMAGE


def signature_window(keep_tagged_images: int) -> int:
    """How many signature and attestation tags the newest `keepTaggedImages` images have."""
    return keep_tagged_images * len(SIGNATURE_SUFFIXES)


def is_signature_tag(tag: str) -> bool:
    """A tag cosign (or the referrers tag schema) owns: never an image's own tag."""
    return SIGNATURE_TAG.match(tag) is not None

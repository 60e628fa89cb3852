"""The contract between `Registry` and a target folder (aws/, azure/, gcp/, local/).

Each folder's `options.py` (no cloud SDK) has `resolve(args, common) -> RegistryOptions`, which
validates the target's own options; its `registry.py` (the cloud SDK) has
`build(name, options, parent) -> Built`, which creates the resources as children of `parent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi

from container_registry.args import RegistryArgs
from container_registry.options import RegistryOptions


@dataclass(frozen=True)
class RegistryLogin:
    """What `docker login` needs; the password is wrapped as a secret wherever it goes."""

    server: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]


@dataclass(frozen=True)
class CiAccess:
    """What a target outputs when `ci` is set: the values a workflow logs in with (none of them
    secret) and the workflow itself."""

    values: pulumi.Output[dict[str, str]]
    workflow: pulumi.Output[str]


@dataclass(frozen=True)
class Built:
    """A target's registry: where it is, how to log in, and what a push must wait for."""

    registry_server: pulumi.Input[str]
    repository_url: pulumi.Input[str]
    login: RegistryLogin
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources a push (or a build from the mirror) needs to exist first: the repository
    policy, the mirror's rules, the registry container."""
    mirror_endpoint: pulumi.Input[str] | None = None
    ci: CiAccess | None = None


class Resolver(Protocol):
    def __call__(self, args: RegistryArgs, common: RegistryOptions) -> RegistryOptions: ...


class Builder(Protocol):
    def __call__(self, name: str, options: RegistryOptions, parent: pulumi.Resource) -> Built: ...

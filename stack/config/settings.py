"""What the stack program reads from its config, once: the Registry's Args, checked (as the
components' options), the app image's tag and platform, and the Docker engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from container_registry import Cloud, LocalOptions, RegistryArgs, ServiceOptions


@dataclass(frozen=True)
class EngineSettings:
    """The Docker engine the stack's Docker resources use (stack/config/engine.py)."""

    host: str | None = None
    context: str | None = None
    cert_path: str | None = None
    check: bool = True


@dataclass(frozen=True)
class Settings:
    """The stack's config, read once: the Registry's Args (and the same, checked, as `options`),
    the app image's tag and platform, the engine, and the warnings to show."""

    cloud: str = "local"
    options: ServiceOptions = field(default_factory=LocalOptions)
    image_tag: str | None = None
    platform: str | None = None
    """None: linux/amd64 on the clouds, the engine's own architecture on the local target."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    project: str = "container-registry"
    stack: str = "dev"
    args: RegistryArgs = field(default_factory=lambda: {"cloud": Cloud.LOCAL}, compare=False)
    # Keys set for a target they have no effect on; load_settings logs them. Not a setting, so
    # two Settings that configure the same thing compare equal whatever was set beside them.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def mirror_enabled(self) -> bool:
        return self.options.mirror.enabled

    # What the checked options say, read where the stack needs one value (and by its tests); the
    # types are the package's (ServiceOptions' fields; the chosen service's own, such as
    # LocalOptions.port, are read from `options`).
    @property
    def repository_name(self) -> str:
        return self.options.repository_name

    @property
    def untagged_expiry_days(self) -> int:
        return self.options.untagged_expiry_days

    @property
    def keep_tagged_images(self) -> int:
        return self.options.keep_tagged_images

    @property
    def immutable_tags(self) -> bool:
        return self.options.immutable_tags

    @property
    def force_delete(self) -> bool:
        return self.options.force_delete

    @property
    def mirror(self):
        return self.options.mirror

    @property
    def ci(self):
        return self.options.ci

"""The one Docker engine a stack uses: resolved once, checked once, and handed to every Docker
resource (the registry container, its volume and image, and the app image on every target)
through one explicit `pulumi_docker.Provider`.

Why one explicit provider: pulumi-docker is two providers in one. Its bridged resources
(Container, Volume, RemoteImage) come from kreuzwerker/terraform-provider-docker, whose
`configure` (internal/provider/provider.go) lets `context` / DOCKER_CONTEXT win over `host`, and
which dials /var/run/docker.sock when neither is set (`defaultDockerProviderHost` in
pulumi-docker's provider/resources.go). Its native `Image` reads only `host` / DOCKER_HOST and
falls back to Docker Desktop's per-user sockets (`configureDockerClient` in provider/image.go),
and never reads a context. Left to themselves, the registry could run on one engine while the app
is built and pushed on another. So the endpoint is resolved here, the way the docker CLI would
(docker-py's context API reads the same context store), and passed to both halves as `host`.
"""

from __future__ import annotations

import os
import platform as host_platform
from collections.abc import Mapping
from dataclasses import dataclass, replace

import docker
import docker.tls
import docker.transport
import pulumi
import pulumi_docker
from docker.context import ContextAPI
from docker.errors import DockerException
from requests.exceptions import RequestException

from stack.config.errors import SettingsError
from stack.config.hints import config_command
from stack.config.parse import Settings

PING_TIMEOUT_S = 10
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# The app's platform where the stack sets none and the target is a cloud: the hosts the clouds'
# registries serve most (and RegistryImage's own default).
DEFAULT_PLATFORM = "linux/amd64"
# Where Docker Desktop listens when /var/run/docker.sock is absent; the native provider looks there
# too (provider/image.go, configureDockerClient), the bridged one does not.
FALLBACK_SOCKETS = ("~/.docker/run/docker.sock", "~/.docker/desktop/docker.sock")
ENGINE_HINT = (
    f"Start Docker, or point DOCKER_HOST (or `{config_command('<stack>', 'docker:host', '...')}`) "
    "at a running engine."
)
# `uname -m` as the engine reports it (`docker info`: Architecture) -> Docker's platform arch.
_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm/v7",
    "armv6l": "arm/v6",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@dataclass(frozen=True)
class DockerEngine:
    """Where the Docker engine is, and how the user told us."""

    host: str | None
    """The endpoint (unix://, tcp://, ssh://, npipe://); None: the default socket."""
    source: str
    """What chose it, for messages: `docker:host`, `DOCKER_HOST`, `Docker context 'x'`, ..."""
    cert_path: str | None = None
    """The folder with ca.pem, cert.pem and key.pem of a TLS context."""

    @property
    def where(self) -> str:
        return f"{self.host or DEFAULT_SOCKET} ({self.source})"


def _context_engine(name: str, key: str) -> DockerEngine:
    """The endpoint of a Docker context, read from the context store as the docker CLI reads it."""
    try:
        found = ContextAPI.get_context(name)
    except DockerException as err:
        raise SettingsError(key, name, f"is a Docker context that cannot be read: {err}") from err
    if found is None:
        raise SettingsError(
            key, name, "is not a Docker context on this machine (see `docker context ls`)"
        )
    if not found.Host:
        raise SettingsError(key, name, "is a Docker context without a Docker endpoint")
    tls = found.tls_cfg.get("docker")
    cert_path = os.path.join(found.tls_path, "docker") if tls is not None else None
    return DockerEngine(host=found.Host, source=f"Docker context {name!r}", cert_path=cert_path)


def resolve_engine(settings: Settings, environ: Mapping[str, str] | None = None) -> DockerEngine:
    """The engine the docker CLI would use with these settings, without dialling it.

    In the provider's order: `docker:context`, then `docker:host`, then DOCKER_CONTEXT, then
    DOCKER_HOST, then the current context (`docker context use`), then the default socket.
    """
    env = os.environ if environ is None else environ
    context, host = settings.engine.context, settings.engine.host
    env_context = env.get("DOCKER_CONTEXT") or None
    env_host = env.get("DOCKER_HOST") or None
    if env_context == "default":
        # The docker CLI's built-in context has no entry in the context store, and the bridged
        # provider looks only there (getContextHost in kreuzwerker/terraform-provider-docker's
        # internal/provider/provider.go), so its container and volume would fail to configure.
        raise SettingsError(
            "DOCKER_CONTEXT",
            env_context,
            "is the docker CLI's built-in context, which the Docker provider cannot load: "
            "unset DOCKER_CONTEXT (the default engine is what it means)",
        )
    # The bridged provider reads DOCKER_CONTEXT itself and lets it win over an explicit host, so
    # a stack setting that disagrees with it would split the stack across two engines.
    if env_context and env_context != "default" and (host or context) and context != env_context:
        key = "docker:context" if context else "docker:host"
        raise SettingsError(
            key,
            context or host,
            f"disagrees with DOCKER_CONTEXT={env_context}, which the Docker provider's "
            "container and volume resources would follow: unset DOCKER_CONTEXT or make them agree",
        )
    if context and context != "default":
        return _context_engine(context, "docker:context")
    cert_path = settings.engine.cert_path
    if host:
        return DockerEngine(host=host, source="docker:host", cert_path=cert_path)
    if env_context and env_context != "default":
        return _context_engine(env_context, "DOCKER_CONTEXT")
    if env_host:
        return DockerEngine(host=env_host, source="DOCKER_HOST", cert_path=cert_path)
    current = ContextAPI.get_current_context()
    if current is not None and current.Name != "default" and current.Host:
        return _context_engine(current.Name, "docker context use")
    return DockerEngine(host=None, source="DOCKER_HOST is not set")


def docker_client(
    host: str, cert_path: str | None, *, timeout: int = PING_TIMEOUT_S
) -> docker.DockerClient:
    """A docker-py client for `host`, with TLS when `cert_path` holds a context's certificates."""
    tls: docker.tls.TLSConfig | bool = False
    if cert_path:
        tls = docker.tls.TLSConfig(
            client_cert=(os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem")),
            ca_cert=os.path.join(cert_path, "ca.pem"),
            verify=True,
        )
    return docker.DockerClient(base_url=host, tls=tls, timeout=timeout)


def _can_dial(url: str) -> bool:
    """False for an ssh:// engine when docker-py has no ssh transport (paramiko is missing)."""
    return not url.startswith("ssh://") or hasattr(docker.transport, "SSHHTTPAdapter")


def _architecture(host: str, cert_path: str | None) -> str:
    """Ping the engine and return what `docker info` calls its Architecture."""
    client = docker_client(host, cert_path)
    try:
        client.ping()
        return str(client.info().get("Architecture", ""))
    finally:
        client.close()


def probe_engine(engine: DockerEngine) -> tuple[DockerEngine, str | None]:
    """Fail fast, with a message a new user can act on, when no Docker engine answers.

    Returns the engine that answered (the default socket, or the Docker Desktop socket the native
    provider would also find) and its architecture, or None for it when docker-py cannot dial
    the engine itself (ssh:// without paramiko, which this project does not install; the
    provider checks those).
    """
    candidates = [engine]
    if engine.host is None:
        candidates += [
            DockerEngine(host=f"unix://{os.path.expanduser(path)}", source="Docker Desktop")
            for path in FALLBACK_SOCKETS
            if os.path.exists(os.path.expanduser(path))
        ]
    first_error: Exception | None = None
    for candidate in candidates:
        host = candidate.host or DEFAULT_SOCKET
        if not _can_dial(host):
            return candidate, None
        try:
            return candidate, _architecture(host, candidate.cert_path)
        except (DockerException, RequestException) as err:
            first_error = first_error or err
    raise pulumi.RunError(
        f"Cannot reach a Docker engine at {engine.where}: {first_error}. {ENGINE_HINT}"
    )


def is_this_machine(engine: DockerEngine) -> bool:
    """True when the engine runs on the machine running Pulumi (a local socket)."""
    return engine.host is None or engine.host.startswith(("unix://", "npipe://"))


def engine_platform(architecture: str) -> str | None:
    """The Docker platform of an engine's `uname -m`, or None when it is not one we know."""
    arch = _ARCHITECTURES.get(architecture.lower())
    return f"linux/{arch}" if arch else None


def this_machine_platform() -> str | None:
    """The platform of the machine running Pulumi: the engine's, when it is the local one."""
    return engine_platform(host_platform.machine())


@dataclass(frozen=True)
class PreparedEngine:
    """What the program needs from the engine: the settings with the build platform settled,
    and the resource options that put every Docker resource on that one engine."""

    settings: Settings
    engine: DockerEngine
    provider: pulumi_docker.Provider

    @property
    def options(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.provider])

    @property
    def platform(self) -> str:
        """The platform the app is built for, settled by prepare_engine."""
        return self.settings.platform or DEFAULT_PLATFORM


def prepare_engine(settings: Settings) -> PreparedEngine:
    """Resolve the engine once, check it, and settle the build platform.

    The clouds build for linux/amd64 unless `platform` says otherwise; the local target builds
    for the engine's own architecture, so Apple-silicon and arm64 Linux need no emulation.
    Nothing is registered before a bad engine setting or an unreachable engine is reported.
    """
    engine = resolve_engine(settings)
    platform = settings.platform
    architecture: str | None = None
    # Every target builds on this engine, so every target checks it: an unreachable engine
    # stops the run before anything exists, and an engine found on Docker Desktop's socket is
    # handed to the provider explicitly (the bridged half would not look there).
    if settings.engine.check:
        engine, architecture = probe_engine(engine)
    if platform is None and settings.cloud == "local":
        if architecture:
            platform = engine_platform(architecture)
            if platform is None:
                raise SettingsError(
                    "platform",
                    None,
                    f"is not set, and the engine's architecture {architecture!r} is not one "
                    f"this program knows: run "
                    f"`{config_command(settings.stack, 'platform', 'linux/<arch>')}`",
                )
        elif is_this_machine(engine):
            platform = this_machine_platform()
        else:
            # An ssh:// engine docker-py cannot ask, or a remote one with the check off: this
            # machine's architecture says nothing about it, and a wrong guess fails the build.
            raise SettingsError(
                "platform",
                None,
                f"is not set, and the architecture of the engine at {engine.where} cannot be "
                f"read from here: run "
                f"`{config_command(settings.stack, 'platform', 'linux/amd64')}` (or linux/arm64, "
                "...) for the engine's own architecture",
            )
    platform = platform or DEFAULT_PLATFORM
    provider = pulumi_docker.Provider(
        "docker-engine",
        pulumi_docker.ProviderArgs(
            host=engine.host,
            cert_path=engine.cert_path,
            disable_docker_daemon_check=not settings.engine.check or None,
        ),
    )
    return PreparedEngine(replace(settings, platform=platform), engine, provider)

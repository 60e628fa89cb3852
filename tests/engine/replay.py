"""What the program declares for `cloud: local`, replayed on a real Docker engine.

`declare()` runs __main__.py under the mocks of tests/conftest.py (the engine check is the real
one, against the engine under test) and returns what was registered. `Replay` then creates the
volumes, the containers and the app image from those recorded inputs the way pulumi-docker would:

- a Container as the bridged kreuzwerker provider creates it (terraform-provider-docker,
  internal/provider/resource_docker_container_funcs.go, `resourceDockerContainerCreate`): the
  Engine API create body built from every input, then `networks_advanced`, then each `upload`
  copied in as a one-file tar at `/` (mode 0644, or 0744 when executable, or `permissions`)
  before the start, then with `wait` the container inspected once a second until healthy or
  `wait_timeout` has passed. Inputs are mapped one by one below; an input this file does not
  know fails the replay, so a new setting in container_registry/local/ is replayed or reported,
  never silently dropped.
- the Image as pulumi-docker's native provider builds it (provider/image.go, `dockerBuild`): the
  recorded context, Dockerfile, build args, platform and builder version, tagged `imageName`,
  then pushed with the recorded registry credentials. The docker CLI does both (it sends the
  same build request and reads the same .dockerignore rules), logged in with those credentials.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pulumi
import pytest
from docker.models.containers import Container
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.sync_await import _sync_await

from stack.config.keys import PROVIDER_KEYS
from tests.conftest import (
    PROJECT,
    RESOURCE_OUTPUTS,
    Harness,
    RecordingMonitor,
    Registered,
    RegistryMocks,
)

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
DOCKER_TIMEOUT_S = 600
BRIDGE_PREFIX_VARIABLE = "CONTAINER_REGISTRY_BRIDGE_PREFIX"


# ---------------------------------------------------------------------------- the program run


@dataclass(frozen=True)
class Declared:
    """One run of __main__.py: its outputs and every registration (inputs as a provider gets
    them: secrets unwrapped, numbers as floats)."""

    stack: str
    config: dict[str, str]
    outputs: dict[str, Any]
    resources: list[Registered]

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, got {[r.name for r in found]}"
        return found[0]

    @property
    def containers(self) -> list[Registered]:
        return self.of_type(CONTAINER)

    def container(self, name: str) -> Registered:
        """A declared container by its Pulumi resource name (`registry-container`, ...)."""
        return self.one(CONTAINER, name)

    @property
    def image(self) -> Registered:
        """The app image (docker:index/image:Image)."""
        return self.one(IMAGE)


def unique_stack(prefix: str = "engine") -> str:
    """A stack name no other run uses: the program puts it into every engine-side name."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def declare(engine: Engine, stack: str, **config: str) -> Declared:
    """Run __main__.py for `cloud: local` under fresh mocks as stack `stack`, with `config` (bare
    project keys, `docker__host` style for provider keys) over `cloud=local`.

    The environment is the engine's alone (DOCKER_HOST, an empty Docker config folder, no cloud
    provider variables), and the program's engine check is the real one: it pings that engine.
    """
    values = {"cloud": "local", **config}
    with pytest.MonkeyPatch.context() as patch:
        for variables in PROVIDER_KEYS.values():
            for variable in variables:
                patch.delenv(variable, raising=False)
        for variable in list(os.environ):
            if variable.startswith("DOCKER_"):
                patch.delenv(variable)
        for variable, value in engine.env(engine.empty_config).items():
            if variable.startswith("DOCKER_"):
                patch.setenv(variable, value)
        return _declare(stack, values)


def _declare(stack: str, values: dict[str, str]) -> Declared:
    qualified = {
        key.replace("__", ":") if "__" in key else f"{PROJECT}:{key}": value
        for key, value in values.items()
    }
    set_root_resource(None)  # type: ignore[arg-type]
    mocks = RegistryMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(qualified)
    run = Harness(monitor=monitor, config=qualified)
    try:
        outputs = run.run_program()
        resolved = {
            name: _sync_await(pulumi.Output.from_input(output).future())
            for name, output in outputs.items()
        }
        resources = run.resources
    finally:
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())
    return Declared(stack=stack, config=dict(values), outputs=resolved, resources=resources)


# ---------------------------------------------------------------------------- container inputs


def _integer(value: Any) -> int:
    """Numbers arrive from the Pulumi wire as floats."""
    return int(value)


def _nanoseconds(duration: str) -> int:
    """A Go duration (`2s`, `1m30s`, `500ms`) in the Engine API's nanoseconds, as the provider
    reads it (time.ParseDuration)."""
    units = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
    units["h"] = 3600 * 10**9
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Go duration: {duration!r}")
    return int(sum(float(number) * units[unit] for number, unit in parts))


def _labels(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {item["label"]: item["value"] for item in items}


def _binds(volumes: Sequence[Mapping[str, Any]]) -> tuple[dict[str, dict], list[str], list[str]]:
    """volumeSetToDockerVolumes (resource_docker_container_structures.go)."""
    declared: dict[str, dict] = {}
    binds: list[str] = []
    volumes_from: list[str] = []
    for volume in volumes:
        source = volume.get("hostPath") or volume.get("volumeName") or ""
        path = volume.get("containerPath") or ""
        if volume.get("fromContainer"):
            volumes_from.append(volume["fromContainer"])
        elif source:
            mode = "ro" if volume.get("readOnly") else "rw"
            if volume.get("selinuxRelabel"):
                mode += "," + volume["selinuxRelabel"]
            declared[path] = {}
            binds.append(f"{source}:{path}:{mode}")
        else:
            declared[path] = {}
    return declared, binds, volumes_from


def _ports(ports: Sequence[Mapping[str, Any]]) -> tuple[dict[str, dict], dict[str, list]]:
    """portSetToDockerPorts (resource_docker_container_structures.go); `ip` defaults to 0.0.0.0
    and `protocol` to tcp in the provider's schema."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list] = {}
    for port in ports:
        key = f"{_integer(port['internal'])}/{port.get('protocol') or 'tcp'}"
        exposed[key] = {}
        binding = {"HostIp": port.get("ip") or "0.0.0.0"}
        if port.get("external") is not None:
            binding["HostPort"] = str(_integer(port["external"]))
        bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def _healthcheck(check: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {"Test": list(check.get("tests", []))}
    for key, api in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("startPeriod", "StartPeriod"),
        ("startInterval", "StartInterval"),
    ):
        if check.get(key):
            config[api] = _nanoseconds(check[key])
    if check.get("retries") is not None:
        config["Retries"] = _integer(check["retries"])
    return config


def _mounts(mounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for item in mounts:
        mount: dict[str, Any] = {
            "Type": item["type"],
            "Target": item["target"],
            "Source": item.get("source", ""),
            "ReadOnly": bool(item.get("readOnly", False)),
        }
        if item.get("bindOptions"):
            mount["BindOptions"] = {"Propagation": item["bindOptions"].get("propagation", "")}
        if item.get("volumeOptions"):
            options = item["volumeOptions"]
            mount["VolumeOptions"] = {
                "NoCopy": bool(options.get("noCopy", False)),
                "Labels": _labels(options.get("labels", [])),
                "DriverConfig": {
                    "Name": options.get("driverName", ""),
                    "Options": options.get("driverOptions", {}),
                },
            }
        if item.get("tmpfsOptions"):
            options = item["tmpfsOptions"]
            mount["TmpfsOptions"] = {
                key: _integer(options[wire])
                for wire, key in (("sizeBytes", "SizeBytes"), ("mode", "Mode"))
                if options.get(wire) is not None
            }
        result.append(mount)
    return result


# Inputs that only steer the provider's own lifecycle (or are applied after the create call).
_AFTER_CREATE = {
    "uploads",
    "networksAdvanced",
    "start",
    "wait",
    "waitTimeout",
    "attach",
    "logs",
    "mustRun",
    "destroyGraceSeconds",
    "removeVolumes",
    "containerReadRefreshTimeoutMilliseconds",
}


def create_body(inputs: Mapping[str, Any], image: str) -> dict[str, Any]:
    """The Engine API `POST /containers/create` body resourceDockerContainerCreate sends."""
    config: dict[str, Any] = {"Image": image}
    # `init` is Optional+Computed: unset, the provider still sends false (d.Get("init")).
    host: dict[str, Any] = {
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "Init": bool(inputs.get("init", False)),
    }
    handled = {"name", "image", "platform"} | _AFTER_CREATE
    scalars = {
        "hostname": (config, "Hostname", str),
        "domainname": (config, "Domainname", str),
        "tty": (config, "Tty", bool),
        "stdinOpen": (config, "OpenStdin", bool),
        "stopSignal": (config, "StopSignal", str),
        "stopTimeout": (config, "StopTimeout", _integer),
        "user": (config, "User", str),
        "workingDir": (config, "WorkingDir", str),
        "privileged": (host, "Privileged", bool),
        "publishAllPorts": (host, "PublishAllPorts", bool),
        "runtime": (host, "Runtime", str),
        "rm": (host, "AutoRemove", bool),
        "readOnly": (host, "ReadonlyRootfs", bool),
        "networkMode": (host, "NetworkMode", str),
        "usernsMode": (host, "UsernsMode", str),
        "pidMode": (host, "PidMode", str),
        "ipcMode": (host, "IpcMode", str),
        "cgroupnsMode": (host, "CgroupnsMode", str),
        "cgroupParent": (host, "CgroupParent", str),
        "cpuSet": (host, "CpusetCpus", str),
        "cpuShares": (host, "CPUShares", _integer),
        "cpuPeriod": (host, "CPUPeriod", _integer),
        "cpuQuota": (host, "CPUQuota", _integer),
        "tmpfs": (host, "Tmpfs", dict),
        "sysctls": (host, "Sysctls", dict),
        "storageOpts": (host, "StorageOpt", dict),
        "dns": (host, "Dns", list),
        "dnsOpts": (host, "DnsOptions", list),
        "dnsSearches": (host, "DnsSearch", list),
        "groupAdds": (host, "GroupAdd", list),
        "deviceCgroupRules": (host, "DeviceCgroupRules", list),
    }
    for key, value in inputs.items():
        if key in handled or value is None:
            continue
        if key in scalars:
            target, api, convert = scalars[key]
            target[api] = convert(value)
        elif key == "envs":
            config["Env"] = list(value)
        elif key == "command":
            config["Cmd"] = list(value)
        elif key == "entrypoints":
            config["Entrypoint"] = list(value)
        elif key == "labels":
            config["Labels"] = _labels(value)
        elif key == "healthcheck":
            config["Healthcheck"] = _healthcheck(value)
        elif key == "ports":
            config["ExposedPorts"], host["PortBindings"] = _ports(value)
        elif key == "volumes":
            declared, binds, volumes_from = _binds(value)
            if declared:
                config["Volumes"] = declared
            if binds:
                host["Binds"] = binds
            if volumes_from:
                host["VolumesFrom"] = volumes_from
        elif key == "mounts":
            host["Mounts"] = _mounts(value)
        elif key == "restart":
            host["RestartPolicy"]["Name"] = value
        elif key == "maxRetryCount":
            host["RestartPolicy"]["MaximumRetryCount"] = _integer(value)
        elif key == "logDriver":
            host.setdefault("LogConfig", {"Type": "", "Config": {}})["Type"] = value
        elif key == "logOpts":
            host.setdefault("LogConfig", {"Type": "", "Config": {}})["Config"] = dict(value)
        elif key == "capabilities":
            host["CapAdd"] = list(value.get("adds") or [])
            host["CapDrop"] = list(value.get("drops") or [])
        elif key == "securityOpts":
            # parseSystemPaths: `systempaths=unconfined` becomes empty masked/read-only paths.
            opts = list(value)
            if "systempaths=unconfined" in opts:
                opts.remove("systempaths=unconfined")
                host["MaskedPaths"], host["ReadonlyPaths"] = [], []
            host["SecurityOpt"] = opts
        elif key == "hosts":
            host["ExtraHosts"] = [f"{item['host']}:{item['ip']}" for item in value]
        elif key == "ulimits":
            host["Ulimits"] = [
                {"Name": u["name"], "Soft": _integer(u["soft"]), "Hard": _integer(u["hard"])}
                for u in value
            ]
        elif key == "memory":
            host["Memory"] = _integer(value) * 1024 * 1024
        elif key == "memoryReservation":
            host["MemoryReservation"] = _integer(value) * 1024 * 1024
        elif key == "memorySwap":
            swap = _integer(value)
            host["MemorySwap"] = swap * 1024 * 1024 if swap > 0 else swap
        elif key == "shmSize":
            host["ShmSize"] = _integer(value) * 1024 * 1024
        elif key == "cpus":
            host["NanoCpus"] = int(float(value) * 1e9)
        else:
            raise NotImplementedError(
                f"the engine replay does not know the Container input {key!r}: map it in "
                "tests/engine/replay.py (create_body) the way resourceDockerContainerCreate does"
            )
    return {**config, "HostConfig": host}


def upload_tar(upload: Mapping[str, Any]) -> bytes:
    """One `upload` as the provider copies it in: a tar with the file at its absolute path."""
    if upload.get("source"):
        content = Path(upload["source"]).read_bytes()
    elif upload.get("contentBase64"):
        content = base64.b64decode(upload["contentBase64"])
    else:
        content = str(upload.get("content", "")).encode()
    if upload.get("permissions"):
        mode = int(upload["permissions"], 8)
    elif upload.get("executable"):
        mode = 0o744
    else:
        mode = 0o644
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(upload["file"])
        info.size, info.mode, info.mtime = len(content), mode, int(time.time())
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# ---------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class Engine:
    """The engine under test: a docker-py client and the endpoint for the docker CLI."""

    client: docker.DockerClient
    host: str
    cert_path: str | None = None
    cli: str = "docker"
    """A docker CLI that can build with BuildKit (buildx, or the built-in one before 23.0)."""
    empty_config: Path | None = None
    """A docker CLI config folder with no credentials and no contexts."""

    def env(self, config_dir: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        if self.cert_path:
            env |= {"DOCKER_CERT_PATH": self.cert_path, "DOCKER_TLS_VERIFY": "1"}
        if config_dir is not None:
            env["DOCKER_CONFIG"] = str(config_dir)
        return env

    def docker(
        self,
        *args: str,
        config_dir: Path | None = None,
        stdin: str | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float = DOCKER_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this engine; with `check`, fail with its output."""
        result = subprocess.run(
            [self.cli, *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**self.env(config_dir), **(env or {})},
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result


class HealthTimeout(AssertionError):
    """The container did not become healthy within its declared wait_timeout."""


def wait_healthy(engine: Engine, container: Container, timeout_s: float) -> float:
    """Inspect once a second until healthy, as the provider's `wait` does; the seconds it took."""
    started = time.monotonic()
    while True:
        container.reload()
        health = container.attrs["State"].get("Health")
        if health is None:
            raise AssertionError(f"{container.name}: `wait` is set but there is no health check")
        if health["Status"] == "healthy":
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            logs = container.logs(tail=30).decode(errors="replace")
            raise HealthTimeout(
                f"{container.name} not healthy within {timeout_s:.0f}s "
                f"(state {container.attrs['State']['Status']}, health {health['Status']}); "
                f"last probe: {(health.get('Log') or [{}])[-1]}\nlogs:\n{logs}"
            )
        time.sleep(1)


# ---------------------------------------------------------------------------- the replay


@dataclass
class Replay:
    """The declared volumes, containers and app image, created on the engine; `cleanup` removes
    everything this replay (and the tests using it) created, tracked by name."""

    engine: Engine
    declared: Declared
    workdir: Path
    env_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per container resource name: env entries replaced by name (`REGISTRY_PROXY_REMOTEURL`)."""
    networks: dict[str, list[str]] = field(default_factory=dict)
    """Per container resource name: extra networks it joins before it starts."""
    containers: dict[str, Container] = field(default_factory=dict)
    healthy_after: dict[str, float] = field(default_factory=dict)
    created_images: set[str] = field(default_factory=set)
    created_containers: set[str] = field(default_factory=set)
    created_volumes: set[str] = field(default_factory=set)
    created_networks: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ resources

    def image_for(self, image_input: str) -> str:
        """A container's `image` input (a RemoteImage's image id under the mocks) as the name of
        the image on the engine."""
        for remote in self.declared.of_type(REMOTE_IMAGE):
            mocked = RESOURCE_OUTPUTS[REMOTE_IMAGE](remote.inputs)["imageId"]
            if image_input in (mocked, remote.inputs["name"]):
                return remote.inputs["name"]
        return image_input

    def create_volumes(self) -> None:
        for volume in self.declared.of_type(VOLUME):
            inputs = volume.inputs
            self.engine.client.volumes.create(
                name=inputs["name"],
                driver=inputs.get("driver") or "local",
                driver_opts=inputs.get("driverOpts") or None,
                labels=_labels(inputs.get("labels", [])),
            )
            self.created_volumes.add(inputs["name"])

    def inputs_of(self, name: str) -> dict[str, Any]:
        """A container's recorded inputs with this replay's env overrides applied."""
        inputs = json.loads(json.dumps(self.declared.container(name).inputs))
        overrides = self.env_overrides.get(name, {})
        if overrides:
            envs = inputs.get("envs") or []
            names = [entry.split("=", 1)[0] for entry in envs]
            missing = set(overrides) - set(names)
            assert not missing, f"{name} declares no {sorted(missing)} to replace: {names}"
            inputs["envs"] = [
                f"{key}={overrides[key]}" if key in overrides else entry
                for key, entry in zip(names, envs, strict=True)
            ]
        return inputs

    def create_container(self, name: str) -> Container:
        """resourceDockerContainerCreate for the declared container `name`."""
        inputs = self.inputs_of(name)
        api = self.engine.client.api
        body = create_body(inputs, self.image_for(inputs["image"]))
        created = api.create_container_from_config(
            body, name=inputs.get("name"), platform=inputs.get("platform")
        )
        container = self.engine.client.containers.get(created["Id"])
        self.created_containers.add(container.name or created["Id"])
        self.containers[name] = container
        if inputs.get("networksAdvanced"):
            # The provider leaves the default network first, then joins each one.
            api.disconnect_container_from_network(created["Id"], "bridge")
        for network in inputs.get("networksAdvanced") or []:
            api.connect_container_to_network(
                created["Id"],
                network["name"],
                aliases=network.get("aliases") or None,
                ipv4_address=network.get("ipv4Address") or None,
                ipv6_address=network.get("ipv6Address") or None,
            )
        for network in self.networks.get(name, []):
            self.engine.client.networks.get(network).connect(container)
        for upload in inputs.get("uploads") or []:
            api.put_archive(created["Id"], "/", upload_tar(upload))
        if inputs.get("start", True):
            container.start()
            if inputs.get("wait"):
                timeout = _integer(inputs.get("waitTimeout", 60))
                self.healthy_after[name] = wait_healthy(self.engine, container, timeout)
        return container

    def create_all(self) -> None:
        """The declared volumes, then every declared container (neither container depends on
        the other); the app image is `build_and_push`'s."""
        self.create_volumes()
        for container in self.declared.containers:
            self.create_container(container.name)

    # ------------------------------------------------------------------ the app image

    def login(self, config_dir: Path, server: str, username: str, password: str) -> None:
        self.engine.docker(
            "login", "--username", username, "--password-stdin", server,
            config_dir=config_dir, stdin=password,
        )  # fmt: skip

    def build(self, config_dir: Path, *, no_cache: bool = False) -> str:
        """The recorded build (dockerBuild), tagged `imageName`; returns that name."""
        inputs = self.declared.image.inputs
        build = inputs["build"]
        name = inputs["imageName"]
        args = ["build", "--tag", name, "--file", build.get("dockerfile", "Dockerfile")]
        if build.get("platform"):
            args += ["--platform", build["platform"]]
        for key, value in (build.get("args") or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        if build.get("target"):
            args += ["--target", build["target"]]
        if build.get("network"):
            args += ["--network", build["network"]]
        for cached in (build.get("cacheFrom") or {}).get("images") or []:
            args += ["--cache-from", cached]
        if no_cache:
            args.append("--no-cache")
        args.append(build.get("context", "."))
        buildkit = build.get("builderVersion", "BuilderBuildKit") == "BuilderBuildKit"
        self.created_images.add(name)
        self.engine.docker(
            *args, config_dir=config_dir, env={"DOCKER_BUILDKIT": "1" if buildkit else "0"}
        )
        return name

    def push(self, config_dir: Path) -> str:
        """Push `imageName`; the repo digest the registry answered (`name@sha256:...`)."""
        name = self.declared.image.inputs["imageName"]
        out = self.engine.docker("push", name, config_dir=config_dir).stdout
        found = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
        assert found, f"the push of {name} reported no digest:\n{out}"
        return f"{name.rsplit(':', 1)[0]}@{found.group(1)}"

    def build_and_push(self) -> str:
        """dockerBuild: log in with the recorded registry credentials, build, push."""
        registry = self.declared.image.inputs["registry"]
        config_dir = self.docker_config("push")
        self.login(config_dir, registry["server"], registry["username"], registry["password"])
        self.build(config_dir)
        return self.push(config_dir)

    # ------------------------------------------------------------------ helpers

    def docker_config(self, name: str) -> Path:
        """An empty docker CLI config folder of its own (no credentials), kept for the replay."""
        folder = self.workdir / f"docker-config-{name}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        return folder

    def track_image(self, name: str) -> str:
        self.created_images.add(name)
        return name

    def network(self, name: str) -> str:
        """A bridge network of this replay. On .ci/run's private engine its bridge is named with
        the prefix that engine's forwarding rule allows (CONTAINER_REGISTRY_BRIDGE_PREFIX)."""
        options = {}
        prefix = os.environ.get(BRIDGE_PREFIX_VARIABLE)
        if prefix:
            options["com.docker.network.bridge.name"] = f"{prefix}{uuid.uuid4().hex[:6]}"
        self.engine.client.networks.create(
            name, driver="bridge", labels=self.labels, options=options or None
        )
        self.created_networks.add(name)
        return name

    @property
    def labels(self) -> dict[str, str]:
        return {"container-registry.project": PROJECT, "container-registry.stack": self.stack}

    @property
    def stack(self) -> str:
        return self.declared.stack

    def cleanup(self) -> list[str]:
        """Remove every container, network, volume and image tag created; the failures."""
        client, failures = self.engine.client, []
        stacked = client.containers.list(
            all=True, filters={"label": f"container-registry.stack={self.stack}"}
        )
        for name in sorted(self.created_containers | {c.name or c.id or "" for c in stacked}):
            try:
                client.containers.get(name).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as err:
                failures.append(f"container {name}: {err}")
        for name in sorted(self.created_networks):
            try:
                client.networks.get(name).remove()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as err:
                failures.append(f"network {name}: {err}")
        for name in sorted(self.created_volumes):
            try:
                client.volumes.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as err:
                failures.append(f"volume {name}: {err}")
        for name in sorted(self.created_images):
            try:
                client.images.remove(name, noprune=False)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError as err:
                failures.append(f"image {name}: {err}")
        return failures


@contextmanager
def replayed(engine: Engine, declared: Declared, workdir: Path, **options: Any) -> Iterator[Replay]:
    """A Replay that is cleaned up on the way out, whatever happened (failures are reported)."""
    replay = Replay(engine=engine, declared=declared, workdir=workdir, **options)
    try:
        yield replay
    finally:
        failures = replay.cleanup()
        assert not failures, "cleanup failed: " + "; ".join(failures)

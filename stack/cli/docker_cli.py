"""The docker CLI, as ./up.sh uses it: which engine, whether it answers, and the clean-up.

The one place that runs `docker`; the tests replace it with a fake of the same methods.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class DockerCli:
    """The docker CLI on PATH, run with `env` (DOCKER_HOST as the CLI decided it)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args], env=dict(self.env), capture_output=True, text=True, check=False
        )

    def available(self) -> bool:
        return shutil.which("docker", path=self.env.get("PATH")) is not None

    def context_host(self) -> str:
        """The endpoint of the current docker context ('' when there is none)."""
        done = self._run("context", "inspect", "--format", "{{.Endpoints.docker.Host}}")
        return done.stdout.strip() if done.returncode == 0 else ""

    def info_error(self) -> str | None:
        """None when an engine answers, else what `docker info` said."""
        done = self._run("info", "--format", "{{.ServerVersion}}")
        return None if done.returncode == 0 else done.stderr.strip()

    def client_version(self) -> str:
        """The CLI's own version (`docker version` prints it, and fails, when no engine answers)."""
        done = self._run("version", "--format", "{{.Client.Version}}")
        return (done.stdout.split() or ["client"])[0]

    def publisher(self, port: int) -> tuple[str, str] | None:
        """(ID, name) of a container that publishes `port`, or None."""
        done = self._run("ps", "--filter", f"publish={port}", "--format", "{{.ID}} {{.Names}}")
        first = (done.stdout.splitlines() or [""])[0].split()
        return (first[0], first[1] if len(first) > 1 else "") if first else None

    def named(self, name: str) -> str:
        """The ID of the container named exactly `name` ('' when there is none)."""
        done = self._run("ps", "-aq", "--filter", f"name=^/{name}$")
        return (done.stdout.split() or [""])[0]

    def remove_container(self, name: str) -> None:
        self._run("rm", "-f", name)

    def remove_image(self, image: str) -> bool:
        """Remove `image` if it is here; False when the engine refuses (a container uses it)."""
        if self._run("image", "inspect", image).returncode != 0:
            return True
        return self._run("image", "rm", image).returncode == 0

    def logout(self, server: str) -> None:
        self._run("logout", server)

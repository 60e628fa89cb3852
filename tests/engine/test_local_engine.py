"""The local target's main path on a real engine: what __main__.py declares for `cloud: local`
(mirror off), replayed (tests/engine/replay.py), then used the way a team uses it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import docker.errors
import pytest

from tests.conftest import Registered
from tests.e2e.support import get, missing_security_headers
from tests.engine.checks import catalog, connects, host_addresses, http, run_app
from tests.engine.replay import (
    CONTAINER,
    Declared,
    Engine,
    Replay,
    declare,
    unique_stack,
    wait_healthy,
)

# The uid and gid of the `nginx` user in the official nginx images (docs/local.md; the app's
# Dockerfile runs as USER 101:101), which the app must run as.
NGINX_UID = "101"


@pytest.fixture(scope="module")
def registry(deploy) -> Replay:
    return deploy()


@pytest.fixture(scope="module")
def pushed(registry: Replay) -> str:
    """The app built and pushed as the program declares it; its `repo@sha256:` reference."""
    return registry.build_and_push()


def credentials(replay: Replay) -> tuple[str, str, str]:
    """The credentials the program exports (server, username, password)."""
    exported = replay.declared.outputs["credentials"]
    return exported["server"], exported["username"], exported["password"]


def registry_port(replay: Replay) -> int:
    return int(replay.declared.outputs["registryServer"].rsplit(":", 1)[1])


def registry_container(replay: Replay) -> Registered:
    """The declared container published on the exported registry's port."""
    port = registry_port(replay)
    found = [
        c
        for c in replay.declared.containers
        if any(int(p.get("external", 0)) == port for p in c.inputs.get("ports", []))
    ]
    assert len(found) == 1, f"expected one container on port {port}, got {found}"
    return found[0]


def test_every_declared_container_is_healthy_within_its_wait(registry: Replay) -> None:
    waiting = [c for c in registry.declared.containers if c.inputs.get("wait")]
    assert waiting, "the registry container declares no `wait`: pulumi up would not wait for it"
    for declared in waiting:
        took = registry.healthy_after[declared.name]
        limit = int(declared.inputs.get("waitTimeout", 60))
        assert took <= limit, f"{declared.name}: healthy after {took:.1f}s, declared wait {limit}s"
        container = registry.containers[declared.name]
        container.reload()
        assert container.attrs["State"]["Health"]["Status"] == "healthy", declared.name


def test_login_with_the_recorded_credentials(registry: Replay) -> None:
    server, username, password = credentials(registry)
    config = registry.docker_config("login")
    result = registry.engine.docker(
        "login", "--username", username, "--password-stdin", server,
        config_dir=config, stdin=password,
    )  # fmt: skip
    assert "Login Succeeded" in result.stdout, result.stdout + result.stderr
    wrong = registry.engine.docker(
        "login", "--username", username, "--password-stdin", server,
        config_dir=registry.docker_config("wrong"), stdin=password + "x", check=False,
    )  # fmt: skip
    assert wrong.returncode != 0, "a wrong password logged in"


def test_anonymous_requests_are_refused(registry: Replay) -> None:
    # Distribution's htpasswd auth answers 401 with a Basic challenge to every request without
    # valid credentials (https://distribution.github.io/distribution/about/configuration/,
    # `auth: htpasswd`); only `/` (the health endpoint) is open.
    port = registry_port(registry)
    answer = http(f"http://127.0.0.1:{port}/v2/")
    assert answer.status == 401, f"anonymous /v2/ answered {answer.status}"
    assert answer.headers.get("Www-Authenticate", "").startswith("Basic realm="), answer.headers


@pytest.mark.parametrize("who", ["anonymous", "wrong-password"])
def test_pushes_without_the_password_are_refused(registry: Replay, who: str) -> None:
    server, username, password = credentials(registry)
    config = registry.docker_config(who)
    if who == "wrong-password":
        # What `docker login` would store, had the registry accepted the wrong password.
        auth = f"{username}:{password}-wrong".encode()
        entry = {"auths": {server: {"auth": base64.b64encode(auth).decode()}}}
        (config / "config.json").write_text(json.dumps(entry))
    source = registry.image_for(registry.declared.containers[0].inputs["image"])
    target = registry.track_image(f"{server}/refused-{who}/probe:1")
    registry.engine.client.images.get(source).tag(target)
    result = registry.engine.docker("push", target, config_dir=config, check=False)
    assert result.returncode != 0, f"{who} push was accepted:\n{result.stdout}"
    said = (result.stdout + result.stderr).lower()
    assert "unauthorized" in said or "no basic auth credentials" in said, said
    assert f"refused-{who}/probe" not in catalog(
        registry_port(registry), auth=credentials(registry)[1:]
    )


def test_push_then_pull_by_digest(registry: Replay, pushed: str) -> None:
    image_name = registry.declared.image.inputs["imageName"]
    assert pushed.startswith(image_name.rsplit(":", 1)[0] + "@sha256:"), pushed
    config = registry.docker_config("pull")
    server, username, password = credentials(registry)
    registry.login(config, server, username, password)
    registry.engine.client.images.remove(image_name)
    registry.track_image(pushed)
    registry.engine.docker("pull", pushed, config_dir=config)
    pulled = registry.engine.client.images.get(pushed)
    assert pushed in pulled.attrs["RepoDigests"], pulled.attrs["RepoDigests"]


def test_the_app_answers_with_its_headers_as_uid_101(registry: Replay, pushed: str) -> None:
    config = registry.docker_config("app")
    server, username, password = credentials(registry)
    registry.login(config, server, username, password)
    registry.track_image(pushed)
    registry.engine.docker("pull", pushed, config_dir=config)
    container, port = run_app(registry, pushed)
    try:
        response = get(f"http://127.0.0.1:{port}/healthz")
        assert response.status == 200
        assert missing_security_headers(response.headers) == [], response.headers
        top = container.top(ps_args="-o pid,uid,comm")
        column = top["Titles"].index("UID")
        users = {row[column] for row in top["Processes"]}
        assert users == {NGINX_UID}, f"app processes run as {top['Processes']}"
        # The image's own HEALTHCHECK command works in the image (busybox wget is there).
        check = container.attrs["Config"]["Healthcheck"]["Test"]
        command = check[1:] if check[0] == "CMD" else ["/bin/sh", "-c", check[1]]
        code, output = container.exec_run(command)
        assert code == 0, f"the app's health check {command} failed: {output!r}"
    finally:
        # The pulled image stays removable for the tests that pull it again.
        container.remove(force=True)


def test_a_restart_and_a_replacement_keep_the_images(registry: Replay, pushed: str) -> None:
    server, username, password = credentials(registry)
    config = registry.docker_config("restart")
    registry.login(config, server, username, password)
    declared = registry_container(registry)
    name = declared.name
    timeout = int(declared.inputs.get("waitTimeout", 60))
    # A restart (the engine's, or the machine's: restart policy) ...
    container = registry.containers[name]
    container.restart()
    wait_healthy(registry.engine, container, timeout)
    # ... and a replacement, as `pulumi up` does when a container input changes.
    container.remove(force=True)
    registry.create_container(name)
    for _ in range(2):
        try:
            registry.engine.client.images.remove(pushed)
        except docker.errors.ImageNotFound:
            pass
        registry.engine.docker("pull", pushed, config_dir=config)
        assert registry.engine.client.images.get(pushed)
    repository = registry.declared.image.inputs["imageName"].split("/", 1)[1].rsplit(":", 1)[0]
    assert repository in catalog(registry_port(registry), auth=(username, password))


def test_the_registry_port_answers_on_loopback_only(registry: Replay) -> None:
    if not registry.engine.host.startswith("unix://"):
        pytest.skip("the engine is not on this machine: its addresses are not ours to probe")
    published = [
        (port["ip"], int(port["external"]))
        for declared in registry.declared.containers
        for port in declared.inputs.get("ports", [])
    ]
    assert published, "no published port declared"
    others = host_addresses()
    assert others, "this machine has no address but loopback: nothing to probe"
    for ip, port in published:
        assert connects("127.0.0.1", port), f"nothing answers on 127.0.0.1:{port}"
        reachable = [address for address in others if connects(address, port)]
        assert reachable == [], f"port {port} (declared ip {ip}) answers on {reachable}"


def _settings(declared: Declared) -> dict[str, str]:
    """What a second run must repeat byte for byte: every Docker resource's inputs."""
    return {
        f"{r.typ} {r.name}": json.dumps(r.inputs, sort_keys=True)
        for r in declared.resources
        if r.typ.startswith("docker:")
    }


@pytest.mark.parametrize("mirror", ["false", "true"])
def test_a_second_run_declares_the_same_tag_and_settings(
    engine: Engine, tmp_path: Path, mirror: str
) -> None:
    stack = unique_stack()
    config = {"localPort": "15432", "mirror": mirror}
    if mirror == "true":
        config["localMirrorPort"] = "15433"
    first, second = declare(engine, stack, **config), declare(engine, stack, **config)
    assert first.outputs["imageName"] == second.outputs["imageName"]
    assert first.of_type(CONTAINER), "nothing declared"
    one, two = _settings(first), _settings(second)
    assert one.keys() == two.keys()
    changed = [key for key in one if one[key] != two[key]]
    assert changed == [], f"a second run changes {changed}: {[(one[k], two[k]) for k in changed]}"

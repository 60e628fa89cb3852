"""After an update (and with --outputs): the outputs, then how to log in as the stack's own
user, pull, run and check the image. The password is never printed: the login line pipes it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stack.cli import project as proj
from stack.cli.local import free_port_after

if TYPE_CHECKING:
    from stack.cli.backend import Backend
    from stack.cli.main import Session

# The app's port inside its container (app/nginx.conf) and where the search for a free loopback
# port to try it on starts (the first port after this one).
APP_PORT = 8080
TRY_FROM = 8079
# What a user's shell runs to get the password out of the `credentials` output.
PASSWORD_OF = "'import json,sys; print(json.load(sys.stdin)[\"password\"])'"


def output_value(output: Any) -> Any:
    """An Automation API OutputValue's value (or a plain value, as the tests' fake gives)."""
    return getattr(output, "value", output)


def outputs_table(outputs: Mapping[str, Any]) -> list[str]:
    """The outputs as `pulumi stack output` shows them: a secret as [secret]."""
    lines = [f"Current stack outputs ({len(outputs)}):", f"    {'OUTPUT':<16}VALUE"]
    for name in sorted(outputs):
        found = outputs[name]
        value = output_value(found)
        if getattr(found, "secret", False):
            shown = "[secret]"
        else:
            shown = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"    {name:<16}{shown}")
    return lines


def print_usage_of_stack(
    session: Session,
    backend: Backend,
    project: str,
    stack: str,
    outputs: Mapping[str, Any],
    config: Mapping[str, str | None],
) -> None:
    server = str(output_value(outputs["registryServer"]))
    image = str(output_value(outputs["imageName"]))
    # The user only: the rest of the credentials stays here, unprinted.
    user = str(output_value(outputs["credentials"])["username"])
    port = free_port_after(TRY_FROM, proj.try_port_avoid(config, project, stack))
    name = app_container(project, stack)
    q = shlex.quote
    session.say()
    for line in outputs_table(outputs):
        session.say(line)
    session.stdout.write(backend.environment_block(stack))
    session.say("Then try the image:")
    session.say(
        f"  pulumi stack output credentials --show-secrets --json --stack {q(stack)} "
        f"| python3 -c {PASSWORD_OF} | docker login {q(server)} -u {q(user)} --password-stdin"
    )
    session.say(f"  docker pull {q(image)}")
    session.say(f"  docker run -d --rm --name {q(name)} -p 127.0.0.1:{port}:{APP_PORT} {q(image)}")
    session.say(f"  curl -fsS http://127.0.0.1:{port}/healthz")
    session.say(
        f"and open http://127.0.0.1:{port}/ in your browser. Stop it with:  docker stop {q(name)}"
    )
    session.say(f"To remove everything of this stack again:  ./up.sh --stack {q(stack)} --destroy")


def app_container(project: str, stack: str) -> str:
    """The name the try-the-image lines give the app's container (--destroy removes it)."""
    return f"{project}-{stack}-app"

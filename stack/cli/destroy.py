"""`./up.sh --destroy`, the one way out: everything a stack's updates did on this machine,
undone after the user types the stack's name (docs/stacks.md#the-one-way-out)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stack.cli import project as proj
from stack.cli.backend import PASSPHRASE_FILE, STATE_DIR
from stack.cli.errors import Exit
from stack.cli.hints import config_command
from stack.cli.local import StackState
from stack.cli.pulumi_stack import PulumiFailed
from stack.cli.usage import app_container, output_value

if TYPE_CHECKING:
    from stack.cli.backend import Backend
    from stack.cli.main import DockerLike, Session, StackLike


def forget_salt(stack_file: Path) -> None:
    """Drop the `encryptionsalt:` line that creating the stack added to Pulumi.<stack>.yaml, and
    the file when nothing else is left. The CLI edits that file keeping its comments and layout
    (ProjectStack.Save -> yamlutil.Edit in sdk/go/common/util/yamlutil of pulumi/pulumi), so
    without that one line a checked-in file is as it was; a line filter keeps them too, which a
    YAML round trip would not."""
    if not stack_file.is_file():
        return
    lines = stack_file.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("encryptionsalt:")]
    if not "".join(kept).strip():
        stack_file.unlink()
    elif kept != lines:
        stack_file.write_text("".join(kept), encoding="utf-8")


def destroy(
    session: Session,
    backend: Backend,
    pulumi: StackLike,
    docker: DockerLike,
    project: str,
    stack: str,
    cloud: str,
    yes: bool,
    config: Mapping[str, str | None],
) -> int:
    state = StackState.of(pulumi.state())
    server = str(output_value(pulumi.outputs().get("registryServer")) or "")
    app = app_container(project, stack)
    say = session.say
    say(f"up.sh: this removes everything of stack {stack} ({cloud}):")
    say("  - its resources, with the registry and every image pushed to it")
    say(
        "  - the stack itself and its history (pulumi stack rm; "
        f"Pulumi.{stack}.yaml keeps your settings)"
    )
    if state.images:
        say(f"  - the images it pulled and built on this machine: {' '.join(state.images)}")
    say(f"  - the app container {app}, if you started it")
    if server:
        say(f"  - the docker login for {server}")
    if backend.own_state:
        say(f"  - {STATE_DIR}/ and {PASSPHRASE_FILE}, once no stack is left in them")
    if not yes:
        session.stdout.write(f"Type the stack name ({stack}) to destroy it: ")
        session.stdout.flush()
        if session.stdin.readline().strip() != stack:
            print("\nup.sh: not confirmed; nothing was destroyed.", file=session.stderr)
            return 1
    # Protection (the local data volume, the Azure registry, the Artifact Registry repository)
    # keeps the images from an accidental destroy; this one was asked for by name. `unprotect
    # --all` fails on a stack that never had resources (unprotectAllResources in
    # pkg/cmd/pulumi/state/state_unprotect.go), hence the count.
    if state.protected:
        pulumi.unprotect_all()
    try:
        pulumi.destroy()
    except PulumiFailed as failed:
        if cloud == "aws" and not proj.force_delete(config, project, stack):
            raise Exit(
                2,
                "ECR deletes a repository that still holds images only when forceDelete is true "
                "(RepositoryNotEmptyException). Turn it on, then destroy again:",
                f"  {config_command(stack, 'forceDelete', 'true')} --yes && "
                f"./up.sh --stack {stack} --destroy",
            ) from failed
        raise Exit(
            2,
            "the destroy failed (above); the stack is kept. Fix the cause and run "
            f"./up.sh --stack {stack} --destroy again.",
        ) from failed
    pulumi.remove()
    forget_salt(session.project_dir / f"Pulumi.{stack}.yaml")
    if docker.named(app):
        docker.remove_container(app)
    # Images still used by a container (another stack's, say) stay: `docker image rm` refuses.
    for image in state.images:
        if not docker.remove_image(image):
            print(f"up.sh: kept the image {image}: a container still uses it.", file=session.stderr)
    if server:
        docker.logout(server)
    if backend.own_state and pulumi.stack_count() == 0:
        shutil.rmtree(session.project_dir / STATE_DIR, ignore_errors=True)
        also = ""
        if backend.own_passphrase:
            (session.project_dir / PASSPHRASE_FILE).unlink(missing_ok=True)
            also = f" and {PASSPHRASE_FILE}"
        say(f"up.sh: no stack is left: removed {STATE_DIR}/{also}.")
    say(f"up.sh: stack {stack} is gone.")
    return 0

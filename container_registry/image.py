"""`RegistryImage`: build any context and Dockerfile for a platform, with build arguments, and push
it to a registry given by its outputs (repository URL and login), one made by `Registry` or
anywhere else. The tag is given, or follows the content, so a rebuild never reuses a tag."""

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_docker as docker
from docker.utils.build import exclude_paths

from container_registry import shape
from container_registry.args import DEFAULTS, RegistryCredentials, RegistryImageArgs
from container_registry.errors import ArgumentError, required
from container_registry.naming import fold, normal_platform

TYPE = "container-registry:index:RegistryImage"
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DEFAULT_PLATFORM = str(DEFAULTS["image.platform"])
DEFAULT_DOCKERFILE = str(DEFAULTS["image.dockerfile"])


def check_tag(value: str, path: str = "tag") -> str:
    """A tag Docker takes, and never `latest` (in any case): a moving tag is not reproducible."""
    if not _IMAGE_TAG.fullmatch(value):
        raise ArgumentError(
            path,
            value,
            "is not a valid image tag: 1 to 128 letters, digits, '_', '.' or '-', not starting "
            "with '.' or '-'",
        )
    if fold(value) == "latest":
        raise ArgumentError(
            path,
            value,
            "is not allowed: latest, in any case, is a moving tag and cannot be deployed "
            "reproducibly",
        )
    return value


def dockerignore_patterns(context: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """The ignore lines that apply to a build of `dockerfile` in `context`.

    As pulumi-docker's `getIgnorePatterns` (provider/provider.go) and BuildKit choose them: a
    `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's `.dockerignore`.
    """
    for ignore_file in (context / f"{dockerfile}.dockerignore", context / ".dockerignore"):
        if ignore_file.is_file():
            lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
            return [line for line in lines if line and not line.startswith("#")]
    return []


def context_files(context: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """Relative paths of the files Docker would send as the build context, sorted.

    docker-py's `exclude_paths` applies Docker's own .dockerignore rules (negation, `**`, the
    Dockerfile that is always sent), so the hash below sees exactly what a build would.
    """
    included = exclude_paths(
        str(context), dockerignore_patterns(context, dockerfile), dockerfile=dockerfile
    )
    return sorted(
        path for path in included if (context / path).is_symlink() or (context / path).is_file()
    )


def content_tag(
    context: Path,
    platform: str,
    build_args: Mapping[str, str] | None = None,
    dockerfile: str = "Dockerfile",
) -> str:
    """First 12 hex digits of a SHA-256 over the build context and the target platform.

    The tag must move whenever pulumi-docker rebuilds, or a rebuild pushes a new digest under an
    old, immutable tag. The provider (pulumi-docker 4.5 to 5.x, `hashContext` and
    `contextHashAccumulator.hashPath` in provider/provider.go) rebuilds when its hash of the
    context changes, and it hashes, for every file it walks (directories are skipped): the
    relative path, the whole `fs.FileMode` (type and every permission bit, so a `chmod g+w` or
    another umask counts), and the content, or for a symlink where it points. This hashes the same
    facts: the path, the full `lstat` mode, and the content or link target. The platform is
    hashed too, so an image for another architecture never reuses an immutable tag. So are
    the build arguments, when there are any (a base image from a mirror is another build).
    """
    digest = hashlib.sha256()
    digest.update(f"platform\0{platform}\0".encode())
    for key, value in sorted((build_args or {}).items()):
        digest.update(f"arg\0{key}\0{len(value)}\0{value}\0".encode())
    for relative in context_files(context, dockerfile):
        path = context / relative
        mode = path.lstat().st_mode
        body = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(f"{relative}\0{mode:o}\0{len(body)}\0".encode())
        digest.update(body)
    return digest.hexdigest()[:12]


def builder_version(build_args: Mapping[str, object] | None) -> docker.BuilderVersion:
    """BuildKit, except when there are build arguments (the way a base image comes from a
    mirror in a private registry).

    pulumi-docker (provider/image.go, `dockerBuild`) hands the registry's credentials to the
    classic builder in the build request (`ImageBuildOptions.AuthConfigs`), but to BuildKit only
    through its session auth provider, which reads the Docker config file; where that file names
    a credential store (Docker Desktop's `credsStore: desktop`, osxkeychain, pass), the store
    answers instead and knows nothing of this registry, so BuildKit would pull the base image
    from the mirror without credentials and be refused. The classic builder sends them.
    """
    if build_args:
        return docker.BuilderVersion.BUILDER_V1
    return docker.BuilderVersion.BUILDER_BUILD_KIT


@dataclass(frozen=True)
class ImageOptions:
    """RegistryImageArgs once checked."""

    context: Path
    dockerfile: str
    platform: str
    tag: str | None
    build_args: Mapping[str, pulumi.Input[str]]


def resolve(args: RegistryImageArgs) -> ImageOptions:
    """Every plain value checked before anything is registered; ArgumentError names the path."""
    if not isinstance(args, dict):  # a component provider hands over a dict too
        raise ArgumentError("", args, "is not a mapping of RegistryImage arguments")
    shape.check(args, RegistryImageArgs)
    context = args.get("context")
    if not context:
        raise required("context", "the directory to build")
    if not Path(context).is_dir():
        raise ArgumentError("context", context, "is not a directory")
    dockerfile = args.get("dockerfile") or DEFAULT_DOCKERFILE
    if not (Path(context) / dockerfile).is_file():
        raise ArgumentError("dockerfile", dockerfile, f"is not a file in {context}")
    for key in ("repository_url", "login"):
        if args.get(key) is None:
            raise required(key, "where to push, such as a Registry's output of that name")
    login = args["login"]
    if not shape.is_output(login):
        check_login(cast(RegistryCredentials, login))
    tag = args.get("tag")
    return ImageOptions(
        context=Path(context),
        dockerfile=dockerfile,
        platform=normal_platform(args.get("platform") or DEFAULT_PLATFORM),
        tag=check_tag(tag) if tag else None,
        build_args=dict(args.get("build_args") or {}),
    )


def check_login(login: RegistryCredentials) -> RegistryCredentials:
    """Every part `docker login` needs is there (each may be an Output)."""
    for key in RegistryCredentials.__annotations__:  # all required, in their order
        if login.get(key) is None:
            raise required(f"login.{key}", f"docker login needs the {key}, with the others")
    return login


def _login_part(login: pulumi.Input[Any], key: str) -> pulumi.Output[str]:
    """One part of `login`; a login that was an Output is checked once it resolves, before the
    image that needs it is registered."""
    return pulumi.Output.from_input(login).apply(lambda value: check_login(value)[key])


class RegistryImage(pulumi.ComponentResource):
    """An image built from a context and Dockerfile and pushed to a registry."""

    tag: pulumi.Output[str]
    """The tag pushed: the one given, else the content tag."""
    image_name: pulumi.Output[str]
    """`<repository_url>:<tag>`."""
    repo_digest: pulumi.Output[str]
    """`<repository_url>@sha256:...`, the immutable reference to deploy."""

    def __init__(
        self, name: str, args: RegistryImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        options = resolve(args)
        super().__init__(TYPE, name, None, opts)
        context, platform = options.context, options.platform
        tag: pulumi.Output[str]
        if options.tag is not None:
            tag = pulumi.Output.from_input(options.tag)
        elif options.build_args:
            # Their values may come from resources (a mirror's host), so the tag is an Output.
            tag = pulumi.Output.all(**options.build_args).apply(
                lambda resolved: content_tag(context, platform, resolved, options.dockerfile)
            )
        else:
            tag = pulumi.Output.from_input(content_tag(context, platform, None, options.dockerfile))
        login = args["login"]
        # A relative context keeps the stored inputs identical on every machine that runs it.
        build_context = os.path.relpath(context)
        image = docker.Image(
            f"{name}-image",
            docker.ImageArgs(
                image_name=pulumi.Output.concat(args["repository_url"], ":", tag),
                build=docker.DockerBuildArgs(
                    context=build_context,
                    dockerfile=os.path.join(build_context, options.dockerfile),
                    platform=platform,
                    builder_version=builder_version(options.build_args),
                    args=dict(options.build_args) if options.build_args else None,
                ),
                registry=docker.RegistryArgs(
                    server=pulumi.Output.unsecret(_login_part(login, "server")),
                    username=pulumi.Output.unsecret(_login_part(login, "username")),
                    password=pulumi.Output.secret(_login_part(login, "password")),
                ),
                skip_push=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.tag = tag
        self.image_name = image.image_name
        self.repo_digest = image.repo_digest
        self.register_outputs(
            {"tag": self.tag, "imageName": self.image_name, "repoDigest": self.repo_digest}
        )

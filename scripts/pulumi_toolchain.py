#!/usr/bin/env python3
"""Build the Pulumi toolchain from Go modules, pinned to the Python SDK the project installs.

    scripts/pulumi_toolchain.py            build what is missing, then print the bin folder
    scripts/pulumi_toolchain.py --require cli --require language-yaml
                                        ... and exit 3 when one of those could not be built
    scripts/pulumi_toolchain.py --bin-dir  print the bin folder only (build nothing)

The versions come from requirements.lock (`pulumi==`, `pulumi-docker==`, `pulumi-random==`), the
lock pip installs from, so the CLI is always the release of the SDK the program runs with. The
build goes to a cache outside the checkout, one folder per version:
$XDG_CACHE_HOME/container-registry/pulumi-toolchain/pulumi-v<version>/bin (~/.cache when unset;
CONTAINER_REGISTRY_TOOLCHAIN_CACHE overrides the root). A second run finds each binary with its
stamp and builds nothing. toolchain.json beside bin/ says what was built, in how many seconds, and
what could not be had, with the Go command's own error.

Only the Go module proxy is used (GOPROXY as set, GOTOOLCHAIN=local so Go never fetches another
Go). Put the bin folder first on PATH and set PULUMI_SKIP_UPDATE_CHECK=true: the CLI then takes
every plugin from PATH and never downloads one (docs/development.md, "The real Pulumi engine").

Standard library only: it runs before the project's virtualenv exists (./up.sh, .ci/run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCK = PROJECT_DIR / "requirements.lock"

PULUMI = "github.com/pulumi/pulumi"
PKG = f"{PULUMI}/pkg/v3"
SDK = f"{PULUMI}/sdk/v3"
# pulumi-language-yaml is not released with the CLI and has no PyPI package to lock it by: the
# newest release the module proxy serves here. It is built against the pkg/v3 its own go.mod
# requires (its API follows pkg/v3: v1.25.0 does not compile against pkg v3.260.0), which is fine:
# a language host talks to the CLI over gRPC only.
YAML_MODULE = "github.com/pulumi/pulumi-yaml"
YAML_VERSION = "1.25.0"
# `-X` of the version each binary reports (sdk/go/common/version/version.go; pulumi-yaml's
# pkg/version/version.go).
SDK_VERSION_VAR = f"{SDK}/go/common/version.Version"
YAML_VERSION_VAR = f"{YAML_MODULE}/pkg/version.Version"


@dataclass(frozen=True)
class Component:
    """One binary: the Go module (at a version) and the package in it that is its main."""

    name: str
    binary: str
    module: str
    version: str
    package: str
    # Modules this one's go.mod `replace`s with a sibling folder of the pulumi repository (for
    # example pkg/go.mod: `replace github.com/pulumi/pulumi/sdk/v3 => ../sdk`). A module zip
    # holds one module only, so the sibling is not there: the build runs on a copy whose go.mod
    # points each of these at the same release fetched from the proxy instead.
    siblings: tuple[str, ...] = ()
    version_var: str = SDK_VERSION_VAR


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """`name==version` pins of a pip lock (requirements.lock), names normalised per PEP 503."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if found:
            pins[re.sub(r"[-_.]+", "-", found.group(1)).lower()] = found.group(2)
    return pins


def components(pins: dict[str, str]) -> list[Component]:
    """Every binary the local stack, the examples and the policy pack load, at the locked
    releases. The Python policy analyzer is no binary of its own: the CLI runs a Python pack
    through pulumi-language-python (NewPolicyAnalyzer in pkg/resource/plugin/analyzer_plugin.go
    falls back to `pulumi-analyzer-policy-python` only where no language host is found)."""
    try:
        pulumi, docker, random = pins["pulumi"], pins["pulumi-docker"], pins["pulumi-random"]
    except KeyError as missing:
        raise SystemExit(f"pulumi-toolchain: {LOCK.name} pins no {missing}") from None
    return [
        Component("cli", "pulumi", PKG, pulumi, "./cmd/pulumi", siblings=(SDK,)),
        Component(
            "language-python",
            "pulumi-language-python",
            f"{PULUMI}/sdk/python/cmd/pulumi-language-python/v3",
            pulumi,
            ".",
            siblings=(SDK, PKG),
        ),
        Component(
            "language-nodejs",
            "pulumi-language-nodejs",
            f"{PULUMI}/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
            pulumi,
            ".",
            siblings=(SDK, PKG),
        ),
        Component(
            "language-yaml",
            "pulumi-language-yaml",
            YAML_MODULE,
            YAML_VERSION,
            "./cmd/pulumi-language-yaml",
            version_var=YAML_VERSION_VAR,
        ),
        provider_component("docker", docker),
        provider_component("random", random),
    ]


def provider_component(name: str, version: str) -> Component:
    """A Pulumi provider's plugin: the `provider/` module of pulumi-<name>, whose major version
    is the release's (Go's semantic import versioning)."""
    major = version.split(".")[0]
    return Component(
        f"resource-{name}",
        f"pulumi-resource-{name}",
        f"github.com/pulumi/pulumi-{name}/provider/v{major}",
        version,
        f"./cmd/pulumi-resource-{name}",
        version_var=f"github.com/pulumi/pulumi-{name}/provider/v{major}/pkg/version.Version",
    )


def cache_root() -> Path:
    root = os.environ.get("CONTAINER_REGISTRY_TOOLCHAIN_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "container-registry" / "pulumi-toolchain"


def toolchain_dir(pins: dict[str, str]) -> Path:
    return cache_root() / f"pulumi-v{pins['pulumi']}"


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        # This Go, never one it would download; go.sum may gain the replaced siblings' lines
        # (the copy's go.mod changed); no cgo, so no C toolchain is needed.
        GOTOOLCHAIN="local",
        GOFLAGS="-mod=mod -buildvcs=false",
        CGO_ENABLED="0",
    )
    return env


class Unavailable(Exception):
    """A module the Go module proxy would not serve (its own message)."""


def download(module: str, version: str) -> Path:
    """The module's folder in Go's module cache (read-only), fetched through the proxy."""
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@v{version}"],
        capture_output=True,
        text=True,
        env=go_env(),
        cwd=tempfile.gettempdir(),
    )
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise Unavailable((done.stderr or done.stdout).strip()) from None
    if info.get("Error") or not info.get("Dir"):
        raise Unavailable(info.get("Error") or done.stderr.strip())
    return Path(info["Dir"])


def go_version() -> str:
    done = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, env=go_env())
    return done.stdout.strip()


def stamp(component: Component, go: str) -> dict[str, str]:
    """What a built binary was made from: a change of any of it builds the binary again."""
    return {
        "module": component.module,
        "version": component.version,
        "package": component.package,
        "go": go,
    }


def build(component: Component, bin_dir: Path, work: Path) -> float:
    """Build one binary into bin_dir; its seconds. Raises Unavailable when a module is refused."""
    started = time.monotonic()
    source = download(component.module, component.version)
    # A writable copy: the module cache is read-only, and go.mod and go.sum change below.
    copy = work / component.name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(source, copy)
    for path in copy.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    for sibling in component.siblings:
        where = download(sibling, component.version)
        subprocess.run(
            ["go", "mod", "edit", f"-replace={sibling}={where}"],
            cwd=copy,
            check=True,
            env=go_env(),
        )
    output = bin_dir / component.binary
    flags = f"-s -w -X {component.version_var}=v{component.version}"
    done = subprocess.run(
        ["go", "build", "-trimpath", "-ldflags", flags, "-o", str(output), component.package],
        cwd=copy,
        capture_output=True,
        text=True,
        env=go_env(),
    )
    if done.returncode != 0:
        raise Unavailable(done.stderr.strip()[-2000:])
    shutil.rmtree(copy, ignore_errors=True)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Pulumi toolchain from Go modules.")
    parser.add_argument(
        "--bin-dir", action="store_true", help="print the bin folder, build nothing"
    )
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="NAME",
        help="exit 3 unless this component is built (cli, language-python, resource-docker, ...)",
    )
    args = parser.parse_args(argv)
    pins = locked_versions()
    home = toolchain_dir(pins)
    bin_dir = home / "bin"
    if args.bin_dir:
        print(bin_dir)
        return 0
    if shutil.which("go") is None:
        print("pulumi-toolchain: no `go` on PATH: install Go 1.26 or newer", file=sys.stderr)
        return 2
    bin_dir.mkdir(parents=True, exist_ok=True)
    report_path = home / "toolchain.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    go = go_version()
    for component in components(pins):
        wanted = stamp(component, go)
        entry = report.get(component.name, {})
        if (bin_dir / component.binary).exists() and entry.get("stamp") == wanted:
            continue
        print(
            f"pulumi-toolchain: building {component.binary} from "
            f"{component.module}@v{component.version} ...",
            file=sys.stderr,
            flush=True,
        )
        try:
            seconds = build(component, bin_dir, home / "src")
        except Unavailable as error:
            report[component.name] = {"stamp": wanted, "unavailable": str(error)}
            print(f"pulumi-toolchain: {component.binary} cannot be built: {error}", file=sys.stderr)
            continue
        size = (bin_dir / component.binary).stat().st_size
        report[component.name] = {"stamp": wanted, "seconds": round(seconds, 1), "bytes": size}
        print(f"pulumi-toolchain: built {component.binary} in {seconds:.0f} s", file=sys.stderr)
    report_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(home / "src", ignore_errors=True)
    print(bin_dir)
    missing = [name for name in args.require if "bytes" not in report.get(name, {})]
    if missing:
        print(f"pulumi-toolchain: required but not built: {', '.join(missing)}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

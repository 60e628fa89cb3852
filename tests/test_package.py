"""The package as users get it (issue 21, "done when"): `pip install ".[<target>]"` from the
repository root builds container_registry alone, with extras per target whose pins are the
stack's requirements files', and a program outside the repository that creates a Registry and a
RegistryImage runs under Pulumi's mocks on every target, loading that target's SDK only.

The install test builds the wheel as pip would (PEP 517, with build isolation: setuptools comes
from the package index) into a fresh virtualenv made without this repository on its path. The
dependencies are not downloaded again: a .pth file in the fresh virtualenv adds venv/'s
site-packages (hundreds of MB of cloud SDKs), which holds no container_registry (venv/ never
gets the package installed), so the program can only import the one that was built.

Issue 28 item 5: docs/use-in-your-program.md as a user outside the checkout follows it, its wheel
install line with an extra, its program and its three-line test under container_registry.testing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import tomllib

from conftest import ROOT

TARGETS = ("local", "aws", "azure", "gcp")
SDKS = {"aws": "pulumi_aws", "azure": "pulumi_azure_native", "gcp": "pulumi_gcp"}
REGISTRY_TYPES = {
    "local": "docker:index/container:Container",
    "aws": "aws:ecr/repository:Repository",
    "azure": "azure-native:containerregistry:Registry",
    "gcp": "gcp:artifactregistry/repository:Repository",
}
PROGRAM = ROOT / "tests" / "data" / "outside_program.py"


def pins(path: Path) -> set[str]:
    """The requirement lines of a requirements file, without comments and `-r` includes."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-")}


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_extras_hold_the_stack_requirements_pins() -> None:
    """requirements.txt (the local stack) is the package with its `local` extra; each
    requirements-<cloud>.txt adds exactly what that cloud's extra adds to it."""
    meta = project()
    base, extras = set(meta["dependencies"]), meta["optional-dependencies"]
    # `verify`: the `ci` output's verification (container_registry/signer.py), not a target; the
    # tests use it, so requirements-dev.txt pins it.
    assert set(extras) == set(TARGETS) | {"verify"}
    assert set(extras["verify"]) <= pins(ROOT / "requirements-dev.txt")
    assert pins(ROOT / "requirements.txt") == base | set(extras["local"])
    for cloud in ("aws", "azure", "gcp"):
        added = pins(ROOT / f"requirements-{cloud}.txt")
        assert added <= set(extras[cloud]), f"requirements-{cloud}.txt pins beyond [{cloud}]"
        rest = set(extras[cloud]) - added
        assert rest <= pins(ROOT / "requirements.txt"), f"[{cloud}] needs {rest} nowhere pinned"
        sdk = SDKS[cloud].replace("_", "-")
        assert any(re.match(rf"{sdk}\b", pin) for pin in added), f"[{cloud}] lacks {sdk}"


def test_the_check_reads_requirement_lines() -> None:
    """The comparison above sees pins, not comments or includes."""
    assert "pulumi-aws>=7,<8" in pins(ROOT / "requirements-aws.txt")
    assert not any(pin.startswith("-r") for pin in pins(ROOT / "requirements-aws.txt"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the repository root, as `pip wheel` builds it."""
    where = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the checkout: setuptools builds in the source folder (build/,
    # *.egg-info), where a build left half done (an interrupted run, or two at once) breaks the
    # next one ("File exists"). The copy holds everything but the checkout's caches and venv, so
    # the wheel shows what packages.find picks from the whole repository.
    source = where / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            "venv", ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    wheels = where / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = wheels.glob("container_registry-*.whl")
    return built


def fresh_venv(where: Path) -> Path:
    """A virtualenv outside the checkout whose only packages are venv/'s (the dependencies,
    through a .pth file, so nothing is downloaded); returns its python."""
    env = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the package built from the repository root installed in it;
    returns its python."""
    python = fresh_venv(tmp_path_factory.mktemp("package"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + [str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return python


def test_the_wheel_holds_the_package_alone(installed: Path) -> None:
    site = Path(
        subprocess.run(
            [str(installed), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (record,) = site.glob("container_registry-*.dist-info/RECORD")
    tops = {line.split("/", 1)[0] for line in record.read_text().splitlines()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"container_registry"}
    # The stack program (stack/: its config mapping and ./up.sh's CLI) stays in the checkout.
    assert not any(line.startswith("stack/") for line in record.read_text().splitlines())
    # PEP 561: without the marker mypy skips the package's types ("missing library stubs or
    # py.typed marker") and an IDE user's typed Args help nothing.
    assert "container_registry/py.typed" in {
        line.split(",", 1)[0] for line in record.read_text().splitlines()
    }


@pytest.mark.slow
@pytest.mark.parametrize("cloud", TARGETS)
def test_a_program_outside_the_repository_runs_on_the_installed_package(
    installed: Path, tmp_path: Path, cloud: str
) -> None:
    context = tmp_path / "api"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY index.html /\n")
    (context / "index.html").write_text("<p>hello</p>\n")
    program = tmp_path / "main.py"
    shutil.copy(PROGRAM, program)
    ran = subprocess.run(
        [str(installed), str(program), cloud, "api"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    package = Path(report["package"]).resolve()
    assert package.is_relative_to(installed.parent.parent), f"imported {package}"
    assert not package.is_relative_to(ROOT), "the program imported the repository's copy"
    assert report["sdks_at_import"] == [], "importing the package loaded an SDK"
    expected = {"pulumi_docker"} | ({SDKS[cloud]} if cloud in SDKS else {"pulumi_random"})
    assert set(report["sdks"]) - {"pulumi_random"} == expected - {"pulumi_random"}
    assert not set(report["sdks"]) & (set(SDKS.values()) - {SDKS.get(cloud)})
    assert REGISTRY_TYPES[cloud] in report["types"]
    assert "container-registry:index:Registry" in report["types"]
    assert "container-registry:index:RegistryImage" in report["types"]
    assert report["repository_url"].endswith("/api")
    assert report["digest"].startswith(report["repository_url"] + "@sha256:")


USE_DOC = ROOT / "docs" / "use-in-your-program.md"


def python_blocks(markdown: str) -> list[str]:
    """The ```python code blocks of a Markdown page, in order."""
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


@pytest.mark.slow
def test_the_documented_install_program_and_test_run_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    """docs/use-in-your-program.md as a user follows it, in a folder outside the checkout: the
    wheel line installs the wheel with its extra (pip resolves `[aws]` against what the fresh
    virtualenv has, offline), then the documented program and its three-line test pass under
    pytest there."""
    page = USE_DOC.read_text(encoding="utf-8")
    (documented, extra) = re.findall(
        r'pip install "dist/(container_registry-[^"]+\.whl)\[(\w+)\]"', page
    )[0]
    assert documented == wheel.name, "the docs name the wheel that `pip wheel` builds"
    git_line = f'pip install "container-registry[{extra}] @ git+https://github.com/OWNER/REPO@v'
    assert git_line in page
    python = fresh_venv(tmp_path)
    installed_by_pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index"]
        + ["--find-links", str(wheel.parent), f"{wheel}[{extra}]"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed_by_pip.returncode == 0, installed_by_pip.stderr[-3000:]
    blocks = python_blocks(page)
    # The first program (Registry, RegistryImage) and its test (container_registry.testing).
    program = next(b for b in blocks if "from container_registry import Cloud, Registry," in b)
    test = next(b for b in blocks if "container_registry.testing" in b)
    project = tmp_path / "program"
    (project / "api").mkdir(parents=True)
    (project / "api" / "Dockerfile").write_text("FROM scratch\nCOPY index.html /\n")
    (project / "api" / "index.html").write_text("<p>hello</p>\n")
    (project / "__main__.py").write_text(program)
    (project / "test_program.py").write_text(test)
    ran = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_program.py"]
        + ["-p", "no:xdist"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "1 passed" in ran.stdout
    where = subprocess.run(
        [str(python), "-c", "import container_registry; print(container_registry.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), f"imported {where}"

#!/usr/bin/env bash
# The one command of this project: deploy a stack (the local registry on your Docker by default),
# push the app image to it, and print how to use it. `./up.sh --help` lists the flags;
# docs/stacks.md explains them.
#
# This script only bootstraps: it finds Python 3.10 or newer, makes venv/, installs the local
# stack's set (requirements.txt) into it, and hands over to the CLI in the package,
# `python -m stack.cli` (stack/cli/), which does everything else.
set -euo pipefail

PROJECT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$PROJECT_DIR"

# Whether $1 is a Python interpreter of version 3.10 or newer.
new_enough() {
	"$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1
}

# The first Python 3.10+ on PATH ($PYTHON first, when set).
find_python() {
	local candidate
	for candidate in ${PYTHON:+"$PYTHON"} python3 python3.14 python3.13 python3.12 python3.11 \
		python3.10; do
		if command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then
			printf '%s' "$candidate"
			return 0
		fi
	done
	return 1
}

if [[ -x venv/bin/python ]] && ! new_enough venv/bin/python; then
	printf 'up.sh: venv/ holds a Python older than 3.10; remove it (rm -rf venv) and run ./up.sh again.\n' >&2
	exit 2
fi
if [[ ! -x venv/bin/python ]]; then
	if ! python="$(find_python)"; then
		printf 'up.sh: %s\n' \
			"no Python 3.10 or newer on PATH (python3, python3.10 ... python3.14, or \$PYTHON)." \
			"Install one (https://www.python.org/downloads/, or your system's python3 package)," \
			"then run ./up.sh again." >&2
		exit 2
	fi
	"$python" -m venv venv
fi

# requirements.lock pins the local stack's set (requirements.txt), every file by its sha256, and
# is all the CLI needs; a cloud stack's SDK (requirements-<cloud>.txt) is added by the CLI.
# Installed again only when the lock changed.
installed=venv/.up-requirements.lock
if [[ ! -f "$installed" || "$(<requirements.lock)" != "$(<"$installed")" ]]; then
	venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements.lock
	venv/bin/python -c 'import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])' \
		requirements.lock "$installed"
fi

# No pulumi on PATH but Go: build the CLI, its Python host and the local stack's plugins at the
# lock's release from Go modules, cached outside the checkout (scripts/pulumi_toolchain.py).
if ! command -v pulumi >/dev/null 2>&1 && command -v go >/dev/null 2>&1; then
	printf 'up.sh: no pulumi on PATH: building the pinned Pulumi toolchain from Go modules (%s)\n' \
		"5 to 20 minutes on 2 cores the first time, seconds after" >&2
	started=$SECONDS
	if ! toolchain="$(venv/bin/python scripts/pulumi_toolchain.py --require cli \
		--require language-python --require resource-docker --require resource-random)"; then
		printf 'up.sh: %s\n' "the toolchain is incomplete (above). Install Pulumi instead:" \
			"https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)" >&2
		exit 2
	fi
	printf 'up.sh: Pulumi toolchain ready in %ss: %s\n' "$((SECONDS - started))" "$toolchain" >&2
	export PATH="$toolchain:$PATH" PULUMI_SKIP_UPDATE_CHECK=true
fi

exec venv/bin/python -m stack.cli "$@"

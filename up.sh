#!/usr/bin/env bash
# The one command of this project: deploy a stack (the local registry on your Docker by default),
# push the app image to it, and print how to use it. `./up.sh --help` lists the flags;
# docs/stacks.md explains them.
#
# This script only bootstraps: it finds Python 3.10 or newer, makes venv/, installs the local
# stack's set (requirements.txt) into it, and hands over to the CLI in the package,
# `python -m container_registry.cli` (container_registry/cli/), which does everything else.
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

# requirements.txt is the local stack's set, and all the CLI needs; a cloud stack's SDK
# (requirements-<cloud>.txt) is added by the CLI. Installed again only when the file changed.
installed=venv/.up-requirements.txt
if [[ ! -f "$installed" || "$(<requirements.txt)" != "$(<"$installed")" ]]; then
	venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	venv/bin/python -c 'import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])' \
		requirements.txt "$installed"
fi

exec venv/bin/python -m container_registry.cli "$@"

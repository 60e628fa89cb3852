#!/usr/bin/env bash
# One command: a private registry on your own Docker engine, with the app image pushed to it.
#
# Needs Docker and the Pulumi CLI; no cloud account. State stays in ./.pulumi-state (unless
# PULUMI_BACKEND_URL says otherwise) and the stack's passphrase comes from
# PULUMI_CONFIG_PASSPHRASE, else PULUMI_CONFIG_PASSPHRASE_FILE, else ./.pulumi-passphrase
# (generated once). Running it again updates the same `dev` stack. The password of the registry
# is never printed: the closing lines show how to pipe it into `docker login`.
set -euo pipefail

readonly STACK=dev
PROJECT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$PROJECT_DIR"

fail() {
	printf 'up.sh: %s\n' "$@" >&2
	exit 2
}

if ! command -v pulumi >/dev/null 2>&1; then
	fail "the Pulumi CLI (pulumi) is not on PATH." \
		"Install it with:  curl -fsSL https://get.pulumi.com | sh" \
		"or on macOS:      brew install pulumi/tap/pulumi" \
		"then open a new shell (or add ~/.pulumi/bin to PATH) and run ./up.sh again."
fi
if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is not on PATH; the Pulumi program is Python (3.10 or newer)."
fi
if ! command -v docker >/dev/null 2>&1; then
	fail "the docker CLI is not on PATH." \
		"Install Docker (https://docs.docker.com/get-docker/), start it, and run ./up.sh again." \
		"A remote engine works too: set DOCKER_HOST (e.g. ssh://user@host) before running."
fi

# Docker Desktop, colima and rootless Docker listen on a socket of their current docker context;
# the docker CLI finds it, the Pulumi provider reads DOCKER_HOST. Hand the provider the same one.
if [[ -z "${DOCKER_HOST:-}" ]]; then
	context_host="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
	if [[ "$context_host" == unix://* && "$context_host" != unix:///var/run/docker.sock ]]; then
		export DOCKER_HOST="$context_host"
	fi
fi
if ! docker_error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)"; then
	fail "cannot reach a Docker engine (DOCKER_HOST=${DOCKER_HOST:-<unset: the default socket>})." \
		"docker info said: ${docker_error}" \
		"Start Docker Desktop (or: sudo systemctl start docker), or point DOCKER_HOST at a running engine."
fi

if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
	mkdir -p -- "$PROJECT_DIR/.pulumi-state"
	export PULUMI_BACKEND_URL="file://$PROJECT_DIR/.pulumi-state"
fi

if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
	passphrase_file="$PROJECT_DIR/.pulumi-passphrase"
	if [[ ! -s "$passphrase_file" ]]; then
		(
			umask 077
			python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$passphrase_file"
		)
		printf 'up.sh: generated a passphrase for the stack secrets in %s (keep it: it unlocks them)\n' \
			"$passphrase_file"
	fi
	chmod 600 -- "$passphrase_file"
	export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
fi

pulumi stack select --create --secrets-provider passphrase --non-interactive "$STACK"
pulumi install
pulumi up --yes --stack "$STACK"

server="$(pulumi stack output registryServer --stack "$STACK")"
image="$(pulumi stack output imageName --stack "$STACK")"
user="$(pulumi config get localUser --stack "$STACK" 2>/dev/null || printf admin)"

printf '\n'
pulumi stack output --stack "$STACK"
printf '\nTo use this stack from your own shell, first:\n'
printf '  cd %q\n' "$PROJECT_DIR"
printf '  export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
if [[ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]]; then
	printf '  export PULUMI_CONFIG_PASSPHRASE_FILE=%q\n' "$PULUMI_CONFIG_PASSPHRASE_FILE"
fi
if [[ -n "${DOCKER_HOST:-}" ]]; then
	printf '  export DOCKER_HOST=%q\n' "$DOCKER_HOST"
fi
printf '\nThen try the image:\n'
printf '  pulumi stack output credentials --show-secrets --stack %s | python3 -c %s | docker login %s -u %s --password-stdin\n' \
	"$STACK" "'import json,sys; print(json.load(sys.stdin)[\"password\"])'" "$server" "$user"
printf '  docker pull %s\n' "$image"

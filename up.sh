#!/usr/bin/env bash
# The one command of this project: deploy a stack (the local registry on your Docker by default),
# push the app image to it, and print how to use it. `./up.sh --help` lists the flags; docs/stacks.md
# explains them.
#
# Needs Docker and the Pulumi CLI. State stays in ./.pulumi-state (unless PULUMI_BACKEND_URL says
# otherwise) and the stacks' passphrase comes from PULUMI_CONFIG_PASSPHRASE, else
# PULUMI_CONFIG_PASSPHRASE_FILE, else ./.pulumi-passphrase (generated once). The password of the
# registry is never printed: the closing lines show how to pipe it into `docker login`.
set -euo pipefail

# The oldest Pulumi CLI this project works with: 3.119.0 is the first whose Python language host
# reads the `toolchain` option of Pulumi.yaml (pulumi/pulumi#16243, in CHANGELOG.md under 3.119.0;
# `pulumi install --no-plugins` came in 3.113.0). docs/stacks.md says the same.
readonly MIN_PULUMI_VERSION=3.119.0

PROJECT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$PROJECT_DIR"

usage() {
	cat <<'EOF'
Usage: ./up.sh [--stack NAME] [--preview | --outputs | --destroy [--yes]]

Deploy the stack NAME (default: dev, the local registry on your Docker), push the app image to it
and print the commands to log in, pull, run and check it. Each target has its own stack: dev
(local), aws, azure and gcp, set up by Pulumi.<stack>.yaml (see docs/stacks.md).

  --stack NAME  the stack to work on; created if it does not exist (except with --outputs and
                --destroy)
  --preview     show what an update would change, and change nothing
  --outputs     print the stack's outputs and the commands to use it again, and change nothing
  --destroy     tear the stack down, after asking for the stack's name; the protected registry
                data (your images) is kept unless forceDelete is true
  --yes         with --destroy: do not ask
  -h, --help    print this help and exit

State: ./.pulumi-state (or PULUMI_BACKEND_URL). Passphrase: PULUMI_CONFIG_PASSPHRASE, else
PULUMI_CONFIG_PASSPHRASE_FILE, else ./.pulumi-passphrase (generated on the first update).
EOF
}

fail() {
	printf 'up.sh: %s\n' "$@" >&2
	exit 2
}

usage_error() {
	printf 'up.sh: %s\n\n' "$1" >&2
	usage >&2
	exit 2
}

# ------------------------------------------------------------------ arguments (nothing runs before)

stack=dev
mode=up
assume_yes=false
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--stack)
		[[ $# -ge 2 && -n "$2" && "$2" != -* ]] || usage_error "--stack needs a stack name"
		stack="$2"
		shift 2
		;;
	--stack=*)
		stack="${1#--stack=}"
		shift
		;;
	--preview | --outputs | --destroy)
		[[ "$mode" == up ]] || usage_error "choose one of --preview, --outputs and --destroy"
		mode="${1#--}"
		shift
		;;
	--yes | -y)
		assume_yes=true
		shift
		;;
	*)
		usage_error "unknown argument: $1"
		;;
	esac
done
# Pulumi's rule for stack names.
[[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]] ||
	usage_error "'$stack' is not a stack name: letters, digits, '-', '_' and '.' only"
[[ "$assume_yes" == false || "$mode" == destroy ]] || usage_error "--yes only goes with --destroy"

# ------------------------------------------------------------------ the tools

if ! command -v pulumi >/dev/null 2>&1; then
	fail "the Pulumi CLI (pulumi) is not on PATH." \
		"Install it with:  curl -fsSL https://get.pulumi.com | sh" \
		"or on macOS:      brew install pulumi/tap/pulumi" \
		"then open a new shell (or add ~/.pulumi/bin to PATH) and run ./up.sh again."
fi

# True when version $1 (x.y.z) is older than $2.
version_older() {
	local -a have want
	IFS=. read -r -a have <<<"$1"
	IFS=. read -r -a want <<<"$2"
	local i
	for i in 0 1 2; do
		if ((10#${have[i]} != 10#${want[i]})); then
			((10#${have[i]} < 10#${want[i]}))
			return
		fi
	done
	return 1
}

pulumi_version="$(pulumi version 2>/dev/null || true)"
if [[ "$pulumi_version" =~ ^v?([0-9]+\.[0-9]+\.[0-9]+) ]]; then
	if version_older "${BASH_REMATCH[1]}" "$MIN_PULUMI_VERSION"; then
		fail "the Pulumi CLI is ${pulumi_version}; this project needs ${MIN_PULUMI_VERSION} or newer" \
			"(the first whose Python host reads \`toolchain: pip\` in Pulumi.yaml)." \
			"Update it with:  curl -fsSL https://get.pulumi.com | sh   (macOS: brew upgrade pulumi)"
	fi
else
	printf 'up.sh: warning: cannot tell the Pulumi CLI version (pulumi version said %q); it must be %s or newer.\n' \
		"$pulumi_version" "$MIN_PULUMI_VERSION" >&2
fi

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is not on PATH; the Pulumi program is Python (3.10 or newer)."
fi

# --outputs only reads the stack: it needs no Docker.
have_docker=false
if command -v docker >/dev/null 2>&1; then
	have_docker=true
elif [[ "$mode" != outputs ]]; then
	fail "the docker CLI is not on PATH." \
		"Install Docker (https://docs.docker.com/get-docker/), start it, and run ./up.sh again." \
		"A remote engine works too: set DOCKER_HOST (e.g. ssh://user@host) before running."
fi

# Docker Desktop, colima and rootless Docker listen on a socket of their current docker context;
# the docker CLI finds it, the Pulumi provider reads DOCKER_HOST. Hand the provider the same one.
if [[ "$have_docker" == true && -z "${DOCKER_HOST:-}" ]]; then
	context_host="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
	if [[ "$context_host" == unix://* && "$context_host" != unix:///var/run/docker.sock ]]; then
		export DOCKER_HOST="$context_host"
	fi
fi
if [[ "$mode" != outputs ]] && ! docker_error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)"; then
	fail "cannot reach a Docker engine (DOCKER_HOST=${DOCKER_HOST:-<unset: the default socket>})." \
		"docker info said: ${docker_error}" \
		"Start Docker Desktop (or: sudo systemctl start docker), or point DOCKER_HOST at a running engine."
fi

# ------------------------------------------------------------------ backend, passphrase, stack

# --outputs and --destroy work on what an update made; they create nothing.
creates=false
[[ "$mode" == up || "$mode" == preview ]] && creates=true

if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
	if [[ "$creates" == true ]]; then
		mkdir -p -- "$PROJECT_DIR/.pulumi-state"
	elif [[ ! -d "$PROJECT_DIR/.pulumi-state" ]]; then
		fail "there is no stack here yet (no .pulumi-state/): run ./up.sh --stack $stack first."
	fi
	export PULUMI_BACKEND_URL="file://$PROJECT_DIR/.pulumi-state"
fi

if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
	passphrase_file="$PROJECT_DIR/.pulumi-passphrase"
	if [[ ! -s "$passphrase_file" ]]; then
		[[ "$creates" == true ]] ||
			fail "no passphrase: set PULUMI_CONFIG_PASSPHRASE[_FILE] or run ./up.sh --stack $stack first."
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

if [[ "$creates" == true ]]; then
	pulumi stack select --create --secrets-provider passphrase --non-interactive "$stack"
elif ! pulumi stack select --non-interactive "$stack"; then
	fail "there is no stack '$stack' in ${PULUMI_BACKEND_URL} (\`pulumi stack ls\` lists them)."
fi

# A config value of the stack, or $2 when it is not set.
config_or() {
	pulumi config get "$1" --stack "$stack" 2>/dev/null || printf '%s' "$2"
}

# The lines that reach this stack from another shell. Printed before any update, so that a failed
# one still says where the state and the passphrase are.
print_environment() {
	printf '\nTo use this stack from your own shell, first:\n'
	printf '  cd %q\n' "$PROJECT_DIR"
	printf '  export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
	if [[ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]]; then
		printf '  export PULUMI_CONFIG_PASSPHRASE_FILE=%q\n' "$PULUMI_CONFIG_PASSPHRASE_FILE"
	fi
	if [[ -n "${DOCKER_HOST:-}" ]]; then
		printf '  export DOCKER_HOST=%q\n' "$DOCKER_HOST"
	fi
	printf '\n'
}

# The outputs, then how to log in (as the stack's own user), pull, run and check the image.
print_usage_of_stack() {
	local fields server image user
	# One read of the outputs. The password passes through this pipe only: just the registry,
	# the image and the user name come out.
	fields="$(pulumi stack output --json --show-secrets --stack "$stack" | python3 -c 'import json, sys
outputs = json.load(sys.stdin)
print(outputs["registryServer"], outputs["imageName"], outputs["credentials"]["username"], sep="\n")')"
	{
		read -r server
		read -r image
		read -r user
	} <<<"$fields"
	printf '\n'
	pulumi stack output --stack "$stack"
	print_environment
	printf 'Then try the image:\n'
	printf '  pulumi stack output credentials --show-secrets --json --stack %q | python3 -c %s | docker login %q -u %q --password-stdin\n' \
		"$stack" "'import json,sys; print(json.load(sys.stdin)[\"password\"])'" "$server" "$user"
	printf '  docker pull %q\n' "$image"
	printf '  docker run --rm -p 127.0.0.1:8080:8080 %q\n' "$image"
	printf '  curl -fsS localhost:8080/healthz\n'
}

# The plugin versions that the Pulumi packages installed in venv/ declare in their
# pulumi-plugin.json, one line each ($@: the Python packages, such as pulumi_docker); fails unless
# each has exactly one.
plugin_versions() {
	local package files=()
	for package in "$@"; do
		local found=("$PROJECT_DIR"/venv/lib/python3*/site-packages/"$package"/pulumi-plugin.json)
		[[ ${#found[@]} -eq 1 && -f "${found[0]}" ]] || return 1
		files+=("${found[0]}")
	done
	python3 -c 'import json, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        print(json.load(f)["version"])' "${files[@]}"
}

# ------------------------------------------------------------------ --outputs

if [[ "$mode" == outputs ]]; then
	if ! pulumi stack output imageName --stack "$stack" >/dev/null 2>&1; then
		fail "stack '$stack' has no outputs yet: run ./up.sh --stack $stack to deploy it."
	fi
	print_usage_of_stack
	exit 0
fi

print_environment
cloud="$(config_or cloud local)"

# ------------------------------------------------------------------ --destroy

if [[ "$mode" == destroy ]]; then
	force_delete="$(config_or forceDelete false)"
	if [[ "$force_delete" == true ]]; then
		kept="With forceDelete true, the registry and every image in it are deleted too."
	else
		case "$cloud" in
		local) kept="The data volume (your images) is protected while forceDelete is false: it is kept, and stays in the stack." ;;
		aws) kept="ECR refuses to delete a repository that still holds images while forceDelete is false: the destroy stops there (RepositoryNotEmptyException) and keeps it." ;;
		azure) kept="The container registry (your images) is protected while forceDelete is false: it is kept, and stays in the stack." ;;
		gcp) kept="The Artifact Registry repository (your images) is protected while forceDelete is false: it is kept, and stays in the stack." ;;
		*) kept="Protected resources are kept." ;;
		esac
	fi
	printf 'up.sh: destroying stack %s (%s). %s\n' "$stack" "$cloud" "$kept"
	if [[ "$force_delete" != true ]]; then
		printf 'up.sh: to delete the images too: pulumi config set forceDelete true --stack %s && ./up.sh --stack %s && ./up.sh --stack %s --destroy\n' \
			"$stack" "$stack" "$stack"
	fi
	if [[ "$assume_yes" != true ]]; then
		printf 'Type the stack name (%s) to destroy it: ' "$stack"
		answer=""
		read -r answer || true
		if [[ "$answer" != "$stack" ]]; then
			printf '\nup.sh: not confirmed; nothing was destroyed.\n' >&2
			exit 1
		fi
	fi
	# --exclude-protected: delete everything else instead of refusing the whole destroy.
	pulumi destroy --yes --exclude-protected --stack "$stack"
	exit 0
fi

# ------------------------------------------------------------------ before an update or preview

# One stack per target. Switching a stack's `cloud` in place would delete the registry it holds
# (Pulumi refuses where that registry is protected), so stop here and point at a new stack.
deployed="$(pulumi stack output cloud --stack "$stack" 2>/dev/null || true)"
if [[ -n "$deployed" && "$deployed" != "$cloud" ]]; then
	other="$cloud"
	[[ "$cloud" == local ]] && other=dev
	[[ "$other" == "$stack" ]] && other="$stack-$cloud"
	if [[ -f "Pulumi.$other.yaml" ]]; then
		make_other="./up.sh --stack $other"
	else
		make_other="pulumi stack init $other --secrets-provider passphrase && pulumi config set cloud $cloud --stack $other && ./up.sh --stack $other"
	fi
	fail "stack '$stack' was last deployed to $deployed, but its \`cloud\` setting now says $cloud." \
		"An update would try to delete the $deployed registry, with your images. Nothing was changed." \
		"Each target gets its own stack: put this one back and make a new one for $cloud:" \
		"  pulumi config set cloud $deployed --stack $stack" \
		"  $make_other"
fi

if [[ "$cloud" == local ]]; then
	# Before a local update: is 127.0.0.1:<localPort> taken by anything but this stack's registry?
	# Only when the engine runs on this machine; a remote engine publishes on its own 127.0.0.1.
	port="$(config_or localPort 5000)"
	case "${DOCKER_HOST:-unix://}" in
	unix://* | tcp://127.0.0.1:* | tcp://localhost:*) local_engine=true ;;
	*) local_engine=false ;;
	esac
	# bash's /dev/tcp connects: something accepts on that port (AirPlay listens on all addresses).
	if [[ "$local_engine" == true && "$port" =~ ^[0-9]+$ ]] &&
		(: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		project=container-registry
		while IFS= read -r line; do
			if [[ "$line" =~ ^name:[[:space:]]*[\"\']?([A-Za-z0-9_.-]+) ]]; then
				project="${BASH_REMATCH[1]}"
				break
			fi
		done <Pulumi.yaml
		# The ports this stack's running registry container publishes, such as
		# "127.0.0.1:5000->5000/tcp" (the labels are set in registries/local.py).
		ours="$(docker ps --filter "label=container-registry.project=$project" \
			--filter "label=container-registry.stack=$stack" --format '{{.Ports}}' 2>/dev/null || true)"
		if [[ "$ours" != *"127.0.0.1:$port->"* ]]; then
			free=$((port < 65535 ? port + 1 : 5001))
			fail "127.0.0.1:$port is already taken by another program (on macOS, AirPlay Receiver holds 5000)," \
				"so the registry cannot listen there. Give it another port, then run ./up.sh again:" \
				"  pulumi config set localPort $free --stack $stack"
		fi
	fi

	# A local stack needs only the docker and random plugins. The engine installs a plugin for
	# every Pulumi package in the virtualenv (the Python host lists each pulumi-plugin.json:
	# GetRequiredPackages in sdk/python/cmd/pulumi-language-python/main.go), but those installs are
	# best effort: installPlugins in pkg/engine/update.go ignores their errors and notes "Provider
	# plugins are loaded lazily by the provider registry", and with automatic acquisition off
	# ensurePluginsAreInstalled (pkg/engine/plugins.go) records a missing one as "not installed"
	# without downloading it. Only a provider that is actually used is loaded, by loadProvider in
	# pkg/resource/deploy/providers/registry.go, which fails for a missing plugin when acquisition
	# is off. So: install exactly docker and random, at the versions the installed SDKs declare,
	# and leave the aws, azure-native and gcp plugins (never started here) undownloaded.
	pulumi install --no-plugins
	if versions="$(plugin_versions pulumi_docker pulumi_random)"; then
		{
			read -r docker_plugin
			read -r random_plugin
		} <<<"$versions"
		pulumi plugin install resource docker "$docker_plugin"
		pulumi plugin install resource random "$random_plugin"
		export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
	else
		printf 'up.sh: warning: no pulumi-plugin.json of pulumi_docker/pulumi_random in venv/; Pulumi will download the plugins it wants.\n' >&2
	fi
else
	pulumi install
fi

# ------------------------------------------------------------------ the update (or its preview)

# --refresh: read the real state first, so a registry container that was stopped or removed
# is started or created again (the docker provider's resourceDockerContainerRead in
# terraform-provider-docker internal/provider/resource_docker_container_funcs.go drops a missing
# container and marks a stopped one must_run=false, which the update turns back into a start).
if [[ "$mode" == preview ]]; then
	pulumi preview --refresh --stack "$stack"
	exit 0
fi
pulumi up --yes --refresh --stack "$stack"
print_usage_of_stack

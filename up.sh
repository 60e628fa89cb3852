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
Usage: ./up.sh [--stack NAME] [--config KEY VALUE]... [--yes]
       ./up.sh [--stack NAME] --preview | --outputs | --env | --destroy [--yes]

Deploy the stack NAME (default: dev, the local registry on your Docker), push the app image to it
and print the commands to log in, pull, run and check it. Each target has its own stack: dev
(local), aws, azure and gcp, set up by Pulumi.<stack>.yaml (see docs/stacks.md). A cloud stack
shows the preview of the update and asks before it changes anything.

  --stack NAME        the stack to work on; created if it does not exist (except with --outputs,
                      --env and --destroy)
  --config KEY VALUE  set a setting of the stack (pulumi config set KEY VALUE), then update it;
                      may be given more than once
  --preview           show what an update would change; changes no resource, but creates the
                      state folder, the passphrase and the empty stack if they do not exist yet
  --outputs           print the stack's outputs and the commands to use it again; changes nothing
  --env               print the export lines that let pulumi and docker in your shell reach the
                      stack, for: eval "$(./up.sh --stack NAME --env)"; changes nothing
  --destroy           remove everything of the stack, after asking for its name: its resources,
                      your images in its registry too, the stack, the images it pulled and built
                      here and its docker login; and .pulumi-state/ and the passphrase once no
                      stack is left
  --yes               do not ask: with --destroy, and for the update of a cloud stack (needed
                      when no terminal is attached)
  -h, --help          print this help and exit

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
config_args=()
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
	--config)
		[[ $# -ge 3 && -n "$2" && "$2" != -* ]] || usage_error "--config needs a key and a value"
		config_args+=("$2" "$3")
		shift 3
		;;
	--preview | --outputs | --env | --destroy)
		[[ "$mode" == up ]] || usage_error "choose one of --preview, --outputs, --env and --destroy"
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
[[ "$assume_yes" == false || "$mode" == destroy || "$mode" == up ]] ||
	usage_error "--yes goes only with an update or --destroy"
[[ ${#config_args[@]} -eq 0 || "$mode" == up ]] ||
	usage_error "--config goes only with an update (no --preview, --outputs, --env or --destroy)"
# A secret on the command line would stay in the shell's history: Pulumi asks for it instead.
for ((i = 0; i < ${#config_args[@]}; i += 2)); do
	[[ "${config_args[i]##*:}" != dockerHubToken ]] ||
		usage_error "--config does not take the secret dockerHubToken; set it at a hidden prompt:
  eval \"\$(./up.sh --stack $stack --env)\" && pulumi config set --secret dockerHubToken --stack $stack"
done

# The project's name, as Pulumi.yaml says (the prefix of its config keys and container names).
project=container-registry
while IFS= read -r line; do
	if [[ "$line" =~ ^name:[[:space:]]*[\"\']?([A-Za-z0-9_.-]+) ]]; then
		project="${BASH_REMATCH[1]}"
		break
	fi
done <Pulumi.yaml

# The target the stack file (or --config cloud) names, read before anything is created: enough
# to refuse an unattended cloud update up front. The stack's real setting is read again later.
declared_cloud=local
if [[ -f "Pulumi.$stack.yaml" ]]; then
	while IFS= read -r line; do
		if [[ "$line" =~ ^[[:space:]]+$project:cloud:[[:space:]]*[\"\']?([A-Za-z]+) ]]; then
			declared_cloud="${BASH_REMATCH[1]}"
		fi
	done <"Pulumi.$stack.yaml"
fi
# The value `--config KEY` gives ($1: the key, bare or with the project's prefix), the last one
# winning; fails when no --config names it.
given_config() {
	local i found=1
	for ((i = 0; i < ${#config_args[@]}; i += 2)); do
		if [[ "${config_args[i]}" == "$1" || "${config_args[i]}" == "$project:$1" ]]; then
			REPLY="${config_args[i + 1]}"
			found=0
		fi
	done
	((found == 0)) && printf '%s' "$REPLY"
}
if given="$(given_config cloud)"; then
	declared_cloud="$given"
fi

# Bash 3.2 (macOS) has no ${x,,}.
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# `pulumi up` without --yes shows the preview and asks (on a terminal only).
attended() { [[ -t 0 && -t 1 ]]; }
refuse_unattended() {
	fail "stack '$stack' is on $1, which bills: an update shows its preview and asks first, and there is no terminal to ask on. Nothing was changed; run ./up.sh --stack $stack --yes to update without asking (./up.sh --stack $stack --preview shows the changes)."
}
if [[ "$mode" == up && "$assume_yes" == false && "$(lower "$declared_cloud")" != local ]] && ! attended; then
	refuse_unattended "$declared_cloud"
fi

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

# --outputs and --env only read the stack: they need no Docker.
needs_docker=true
[[ "$mode" == outputs || "$mode" == env ]] && needs_docker=false
have_docker=false
if command -v docker >/dev/null 2>&1; then
	have_docker=true
elif [[ "$needs_docker" == true ]]; then
	fail "the docker CLI is not on PATH." \
		"Install Docker (https://docs.docker.com/get-docker/), start it, and run ./up.sh again." \
		"A remote engine works too: set DOCKER_HOST (e.g. ssh://user@host) before running."
fi

# Docker Desktop, colima and rootless Docker listen on a socket of their current docker context;
# the docker CLI finds it, the Pulumi provider reads DOCKER_HOST. Hand the provider the same one.
context_host=""
if [[ "$have_docker" == true && -z "${DOCKER_HOST:-}" ]]; then
	context_host="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
	if [[ "$context_host" == unix://* && "$context_host" != unix:///var/run/docker.sock ]]; then
		export DOCKER_HOST="$context_host"
	fi
fi
if [[ -n "${DOCKER_HOST:-}" ]]; then
	engine_place="DOCKER_HOST=$DOCKER_HOST"
elif [[ -z "$context_host" || "$context_host" == unix:///var/run/docker.sock ]]; then
	engine_place="DOCKER_HOST=<unset: the default socket, unix:///var/run/docker.sock>"
else
	engine_place="DOCKER_HOST=<unset: the docker context's $context_host>"
fi
if [[ "$needs_docker" == true ]] && ! docker_error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)"; then
	# The docker CLI 20.10 (Debian's docker.io, for one) says only this when no engine answers:
	# its `docker info` leaves the server part nil and the template fails on it.
	if [[ "$docker_error" == *"<.ServerVersion>"*"nil pointer"* ]]; then
		docker_error="no Docker engine answers there (the docker CLI $(docker version --format '{{.Client.Version}}' 2>/dev/null || printf 'client') printed only a template error)"
	fi
	fail "cannot reach a Docker engine ($engine_place)." \
		"docker info said: ${docker_error}" \
		"Start Docker Desktop (or: sudo systemctl start docker), or point DOCKER_HOST at a running engine."
fi

# ------------------------------------------------------------------ backend, passphrase, stack

# --outputs, --env and --destroy work on what an update made; they create nothing.
creates=false
[[ "$mode" == up || "$mode" == preview ]] && creates=true

own_backend=false
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
	if [[ "$creates" == true ]]; then
		mkdir -p -- "$PROJECT_DIR/.pulumi-state"
	elif [[ ! -d "$PROJECT_DIR/.pulumi-state" ]]; then
		fail "there is no stack here yet (no .pulumi-state/): run ./up.sh --stack $stack first."
	fi
	export PULUMI_BACKEND_URL="file://$PROJECT_DIR/.pulumi-state"
fi
# The state folder and passphrase file are up.sh's own (and --destroy may remove them) when they
# are the project's, whether up.sh chose them now or a shell has them from `./up.sh --env`.
[[ "$PULUMI_BACKEND_URL" == "file://$PROJECT_DIR/.pulumi-state" ]] && own_backend=true

own_passphrase=false
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
[[ "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" == "$PROJECT_DIR/.pulumi-passphrase" &&
	-z "${PULUMI_CONFIG_PASSPHRASE:-}" ]] && own_passphrase=true

if [[ "$creates" == true ]]; then
	pulumi stack select --create --secrets-provider passphrase --non-interactive "$stack"
elif ! pulumi stack select --non-interactive "$stack" >&2; then
	fail "there is no stack '$stack' in ${PULUMI_BACKEND_URL} (\`pulumi stack ls\` lists them)."
fi

# A config value of the stack, or $2 when it is not set.
config_or() {
	pulumi config get "$1" --stack "$stack" 2>/dev/null || printf '%s' "$2"
}

cloud="$(config_or cloud local)"
if given="$(given_config cloud)"; then
	cloud="$given"
fi
cloud="$(lower "$cloud")"

# A local stack's update runs with only the docker and random plugins ("Plugins" below); the same
# setting belongs in the shell that reaches the stack, or a plain `pulumi up` there downloads
# every cloud's plugin.
if [[ "$cloud" == local && -z "${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION+x}" ]]; then
	export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi

# The lines that give a shell what up.sh sets for this stack (`./up.sh --env` prints just these).
environment_lines() {
	printf 'cd %q\n' "$PROJECT_DIR"
	printf 'export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
	if [[ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ]]; then
		printf '# PULUMI_CONFIG_PASSPHRASE: from your environment, not printed\n'
	elif [[ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
		printf 'export PULUMI_CONFIG_PASSPHRASE_FILE=%q\n' "$PULUMI_CONFIG_PASSPHRASE_FILE"
	fi
	if [[ -n "${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-}" ]]; then
		printf 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=%q\n' \
			"$PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"
	fi
	if [[ -n "${DOCKER_HOST:-}" ]]; then
		printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
	fi
}

# Printed before any update, so that a failed one still says where the state and passphrase are.
print_environment() {
	local line
	printf '\nTo use this stack from your own shell (pulumi, docker), first run\n'
	# shellcheck disable=SC2016 # the $( ) is for the user's shell, printed as it is
	printf '  eval "$(%q --stack %q --env)"\n' "$PROJECT_DIR/up.sh" "$stack"
	printf 'which does:\n'
	while IFS= read -r line; do
		printf '  %s\n' "$line"
	done < <(environment_lines)
	printf '\n'
}

# True when something accepts connections on 127.0.0.1:$1 (bash's /dev/tcp connects; AirPlay
# listens on all addresses).
port_open() {
	(: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The first port after $1 that nothing listens on and that is not among $2.. (ports in use).
free_port_after() {
	local port="$1" tries taken
	shift
	for ((tries = 0; tries < 200; tries++)); do
		port=$((port < 65535 ? port + 1 : 1024))
		for taken in "$@"; do
			[[ "$port" == "$taken" ]] && continue 2
		done
		port_open "$port" || break
	done
	printf '%s' "$port"
}

# What the stack's state holds that up.sh needs, without a secret (`pulumi stack export` keeps
# them encrypted): `container <id> <name>` per Docker container, `image <name>` per image pulled
# (RemoteImage) or built (Image), `protected <count>`.
state_lines() {
	pulumi stack export --stack "$stack" 2>/dev/null | python3 -c 'import json, sys
text = sys.stdin.read()
resources = (json.loads(text).get("deployment") or {}).get("resources") or [] if text.strip() else []
protected = 0
for resource in resources:
    kind, outputs = resource.get("type"), resource.get("outputs") or {}
    protected += bool(resource.get("protect"))
    if kind == "docker:index/container:Container" and resource.get("id"):
        print("container", resource["id"], outputs.get("name", ""))
    elif kind == "docker:index/remoteImage:RemoteImage" and isinstance(outputs.get("name"), str):
        print("image", outputs["name"])
    elif kind == "docker:index/image:Image" and isinstance(outputs.get("imageName"), str):
        print("image", outputs["imageName"])
print("protected", protected)'
}

state_containers=()
state_images=()
state_protected=0
read_state() {
	local kind first second
	while read -r kind first second; do
		case "$kind" in
		container) state_containers+=("$first $second") ;;
		image) state_images+=("$first") ;;
		protected) state_protected="$first" ;;
		esac
	done < <(state_lines)
}

# True when the container ID $1 (short or long) is one of this stack's, by its state.
ours() {
	local entry
	for entry in ${state_containers[@]+"${state_containers[@]}"}; do
		[[ -n "$1" && "${entry%% *}" == "$1"* ]] && return 0
	done
	return 1
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

# ------------------------------------------------------------------ --env and --outputs

if [[ "$mode" == env ]]; then
	environment_lines
	exit 0
fi

# The mirror's port as the program derives it ($1: the registry's port): localMirrorPort, or the
# registry's port + 1 when that is 0 (unset).
mirror_port_of() {
	local port
	port="$(config_or localMirrorPort 0)"
	if [[ "$port" == 0 && "$1" =~ ^[0-9]+$ ]]; then
		port=$(($1 + 1))
	fi
	printf '%s' "$port"
}

# A loopback port for trying the app, away from the registry's ports.
try_port() {
	local registry_port
	registry_port="$(config_or localPort 5000)"
	free_port_after 8079 "$registry_port" "$(mirror_port_of "$registry_port")"
}

# The outputs, then how to log in (as the stack's own user), pull, run and check the image.
print_usage_of_stack() {
	local fields server image user port name
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
	port="$(try_port)"
	name="$project-$stack-app"
	printf '\n'
	pulumi stack output --stack "$stack"
	print_environment
	printf 'Then try the image:\n'
	printf '  pulumi stack output credentials --show-secrets --json --stack %q | python3 -c %s | docker login %q -u %q --password-stdin\n' \
		"$stack" "'import json,sys; print(json.load(sys.stdin)[\"password\"])'" "$server" "$user"
	printf '  docker pull %q\n' "$image"
	printf '  docker run -d --rm --name %q -p 127.0.0.1:%s:8080 %q\n' "$name" "$port" "$image"
	printf '  curl -fsS http://127.0.0.1:%s/healthz\n' "$port"
	printf 'and open http://127.0.0.1:%s/ in your browser. Stop it with:  docker stop %q\n' \
		"$port" "$name"
	printf 'To remove everything of this stack again:  ./up.sh --stack %q --destroy\n' "$stack"
}

if [[ "$mode" == outputs ]]; then
	if ! pulumi stack output imageName --stack "$stack" >/dev/null 2>&1; then
		fail "stack '$stack' has no outputs yet: run ./up.sh --stack $stack to deploy it."
	fi
	print_usage_of_stack
	exit 0
fi

print_environment

# ------------------------------------------------------------------ --destroy

# Drop the `encryptionsalt:` line that creating the stack added to Pulumi.<stack>.yaml, and the file
# itself when nothing else is left in it. The CLI edits that file keeping its comments and layout
# (ProjectStack.Save -> encoding's marshal.go -> yamlutil.Edit in sdk/go/common/util/yamlutil of
# pulumi/pulumi), so without that one line a checked-in file is as it was.
forget_salt() {
	local file="$PROJECT_DIR/Pulumi.$stack.yaml"
	[[ -f "$file" ]] || return 0
	python3 - "$file" <<'EOF'
import pathlib, sys
path = pathlib.Path(sys.argv[1])
lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
kept = [line for line in lines if not line.startswith("encryptionsalt:")]
if not "".join(kept).strip():
    path.unlink()
elif kept != lines:
    path.write_text("".join(kept), encoding="utf-8")
EOF
}

if [[ "$mode" == destroy ]]; then
	read_state
	server="$(pulumi stack output registryServer --stack "$stack" 2>/dev/null || true)"
	app="$project-$stack-app"
	printf 'up.sh: this removes everything of stack %s (%s):\n' "$stack" "$cloud"
	printf '  - its resources, with the registry and every image pushed to it\n'
	printf '  - the stack itself and its history (pulumi stack rm; Pulumi.%s.yaml keeps your settings)\n' "$stack"
	if [[ ${#state_images[@]} -gt 0 ]]; then
		printf '  - the images it pulled and built on this machine: %s\n' "${state_images[*]}"
	fi
	printf '  - the app container %s, if you started it\n' "$app"
	[[ -n "$server" ]] && printf '  - the docker login for %s\n' "$server"
	if [[ "$own_backend" == true ]]; then
		printf '  - .pulumi-state/ and .pulumi-passphrase, once no stack is left in them\n'
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
	# Protection (the local data volume, the Azure registry, the Artifact Registry repository)
	# keeps the images from an accidental destroy; this one was asked for by name. `unprotect
	# --all` fails on a stack that never had resources (unprotectAllResources in
	# pkg/cmd/pulumi/state/state_unprotect.go), hence the count.
	if ((state_protected > 0)); then
		pulumi state unprotect --all --yes --stack "$stack"
	fi
	if ! pulumi destroy --yes --stack "$stack"; then
		if [[ "$cloud" == aws && "$(config_or forceDelete false)" != true ]]; then
			fail "ECR deletes a repository that still holds images only when forceDelete is true (RepositoryNotEmptyException). Turn it on, then destroy again:" \
				"  ./up.sh --stack $stack --config forceDelete true --yes && ./up.sh --stack $stack --destroy"
		fi
		fail "the destroy failed (above); the stack is kept. Fix the cause and run ./up.sh --stack $stack --destroy again."
	fi
	# Not `destroy --remove`: that deletes Pulumi.<stack>.yaml, a checked-in file (destroy.go in
	# pkg/cmd/pulumi/operations); --preserve-config keeps it (stack_remove.go, pkg/cmd/pulumi/stack).
	pulumi stack rm --yes --preserve-config "$stack"
	forget_salt
	if [[ -n "$(docker ps -aq --filter "name=^/$app\$" 2>/dev/null || true)" ]]; then
		docker rm -f "$app" >/dev/null
	fi
	# Images still used by a container (another stack's, say) stay: `docker image rm` refuses.
	for image in ${state_images[@]+"${state_images[@]}"}; do
		if docker image inspect "$image" >/dev/null 2>&1 && ! docker image rm "$image" >/dev/null; then
			printf 'up.sh: kept the image %s: a container still uses it.\n' "$image" >&2
		fi
	done
	if [[ -n "$server" ]]; then
		docker logout "$server" >/dev/null 2>&1 || true
	fi
	if [[ "$own_backend" == true ]] &&
		[[ "$(pulumi stack ls --json 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" == 0 ]]; then
		rm -rf -- "$PROJECT_DIR/.pulumi-state"
		[[ "$own_passphrase" == true ]] && rm -f -- "$PROJECT_DIR/.pulumi-passphrase"
		printf 'up.sh: no stack is left: removed .pulumi-state/%s.\n' \
			"$([[ "$own_passphrase" == true ]] && printf ' and .pulumi-passphrase')"
	fi
	printf 'up.sh: stack %s is gone.\n' "$stack"
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
		make_other="./up.sh --stack $other --config cloud $cloud"
	fi
	fail "stack '$stack' was last deployed to $deployed, but its \`cloud\` setting now says $cloud." \
		"An update would try to delete the $deployed registry, with your images. Nothing was changed." \
		"Each target gets its own stack: put this one back and make a new one for $cloud:" \
		"  ./up.sh --stack $stack --config cloud $deployed" \
		"  $make_other"
fi

# The stack's own setting may name a cloud that its file does not (set with `pulumi config set`).
if [[ "$mode" == up && "$assume_yes" == false && "$cloud" != local ]] && ! attended; then
	refuse_unattended "$cloud"
fi
for ((i = 0; i < ${#config_args[@]}; i += 2)); do
	# --plaintext: none of these is a secret (dockerHubToken is refused above), and without it the
	# CLI refuses a value of a key named like *Password*/*Secret* whose text looks random, such as
	# acrDockerHubPasswordSecretUri's URI (configSetCmd.Run and looksLikeSecret in
	# pkg/cmd/pulumi/config/config.go of pulumi/pulumi).
	pulumi config set --plaintext "${config_args[i]}" "${config_args[i + 1]}" --stack "$stack"
done

if [[ "$cloud" == local ]]; then
	# Before a local update: the registry's ports (and the mirror's) must be free or held by this
	# stack's own containers, and their names must not belong to another container. "This
	# stack's" means the container IDs in its state: labels can be copied (another clone of this
	# project has the same ones), a state's container IDs cannot.
	read_state
	registry_port="$(config_or localPort 5000)"
	ports=("localPort" "$registry_port")
	names=("$project-$stack-registry")
	if [[ "$(config_or mirror false)" == true ]]; then
		mirror_port="$(mirror_port_of "$registry_port")"
		ports+=("localMirrorPort" "$mirror_port")
		names+=("$project-$stack-registry-mirror")
	fi
	# Ports only when the engine runs on this machine; a remote engine publishes on its own
	# 127.0.0.1.
	case "${DOCKER_HOST:-unix://}" in
	unix://* | tcp://127.0.0.1:* | tcp://localhost:*) local_engine=true ;;
	*) local_engine=false ;;
	esac
	for ((i = 0; i < ${#ports[@]}; i += 2)); do
		key="${ports[i]}"
		port="${ports[i + 1]}"
		if [[ "$local_engine" != true || ! "$port" =~ ^[0-9]+$ ]] || ! port_open "$port"; then
			continue
		fi
		holder_id="" holder_name=""
		read -r holder_id holder_name < <(docker ps --filter "publish=$port" --format '{{.ID}} {{.Names}}' 2>/dev/null || true) || true
		ours "$holder_id" && continue
		free="$(free_port_after "$port" "$registry_port" "${mirror_port:-}")"
		if [[ -n "$holder_id" ]]; then
			fail "127.0.0.1:$port ($key) is held by the container $holder_name, which is not in stack '$stack' (another clone or stack of this project, or another program's)." \
				"Stop that container (docker stop $holder_name), or give this stack another port:" \
				"  ./up.sh --stack $stack --config $key $free"
		fi
		fail "127.0.0.1:$port ($key) is already taken by another program (on macOS, AirPlay Receiver holds 5000)," \
			"so the registry cannot listen there. Give it another port:" \
			"  ./up.sh --stack $stack --config $key $free"
	done
	for name in "${names[@]}"; do
		holder_id="$(docker ps -aq --filter "name=^/$name\$" 2>/dev/null || true)"
		if [[ -n "$holder_id" ]] && ! ours "$holder_id"; then
			fail "a container named $name exists, but it is not in stack '$stack': a leftover, or the registry of another clone of this project with a stack named '$stack'. Docker names are unique on an engine." \
				"Remove it if it is a leftover (its data volume stays):  docker rm -f $name" \
				"or run this clone under another stack name:  ./up.sh --stack $stack-2 --config cloud local"
		fi
	done

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
	else
		printf 'up.sh: warning: no pulumi-plugin.json of pulumi_docker/pulumi_random in venv/; Pulumi will download the plugins it wants.\n' >&2
		[[ "$PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" == true ]] &&
			unset PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
	fi
else
	# requirements.txt is the local stack's set: it is what `pulumi install` installs (the pip
	# toolchain installs requirements.txt only: InstallDependencies in sdk/python/toolchain/pip.go),
	# and what a plain `pulumi up` installs into a missing venv/ (EnsureVenv, called from
	# GetRequiredPackages). A cloud stack adds its own cloud's SDK with the same venv's pip; pip
	# never removes it again (`pulumi install` only adds), then the plugins of what is installed.
	pulumi install --no-plugins
	if [[ -f "requirements-$cloud.txt" ]]; then
		printf 'up.sh: installing the %s SDK (requirements-%s.txt) into venv/\n' "$cloud" "$cloud"
		"$PROJECT_DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
			-r "requirements-$cloud.txt"
	fi
	pulumi install --no-dependencies
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
if [[ "$cloud" == local || "$assume_yes" == true ]]; then
	pulumi up --yes --refresh --stack "$stack"
else
	# A cloud bills: `pulumi up` shows the preview and asks on the terminal (checked above).
	pulumi up --refresh --stack "$stack"
fi
if [[ "$cloud" == local ]]; then
	# The local registry's retention (keepTaggedImages, untaggedExpiryDays; docs/supply-chain.md):
	# the clouds clean up by themselves, Distribution does not. The outputs, the password among
	# them, pass through this pipe only. A failure is reported; the update stands.
	pulumi stack output --json --show-secrets --stack "$stack" |
		"$PROJECT_DIR/venv/bin/python" -m stack_config.retention ||
		printf '%s\n' "up.sh: warning: the registry's retention failed (see above); the update stands." >&2
fi
print_usage_of_stack

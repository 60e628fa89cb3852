#!/bin/sh
# When the command is nginx, run the start-up scripts in /docker-entrypoint.d/ first (none ship with
# the stand-in; an image built on it may add some), then the command.
set -e
case "$1" in
    nginx | nginx-debug)
        for script in /docker-entrypoint.d/*.sh; do
            if [ -x "$script" ]; then
                "$script"
            fi
        done
        ;;
esac
exec "$@"

#!/bin/sh
# The official image's rules: a configuration file alone is served; a registry subcommand or flag
# goes to the registry; any other command runs as given.
set -e
case "$1" in
    *.yml | *.yaml) set -- registry serve "$@" ;;
    serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"

"""Azure Container Registry: options.py checks the azure options (no SDK), registry.py builds the
registry and its purge task, access.py the AcrPull grants and keyless CI push, mirror.py the
cache rules and credential set."""

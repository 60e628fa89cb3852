"""The local target: options.py checks the local options, registry.py runs the registry container
(container.py says how every one is run), mirror.py the pull-through cache beside it. No cloud
account; the Docker provider in use chooses the engine."""

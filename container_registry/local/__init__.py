"""The local target: args.py holds LocalRegistryArgs and options.py checks them, registry.py is
the LocalRegistry component that runs the registry container (container.py says how every one is
run), mirror.py the pull-through cache beside it. No cloud account; the Docker provider in use
chooses the engine."""

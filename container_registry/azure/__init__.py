"""Azure Container Registry: args.py holds AcrRegistryArgs and options.py checks them (no SDK),
registry.py is the AcrRegistry component with the registry and its purge task, access.py the
AcrPull grants and keyless CI push, mirror.py the cache rules and credential set."""

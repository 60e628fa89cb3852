"""Amazon ECR: args.py holds EcrRegistryArgs and options.py checks them (no SDK), registry.py is
the EcrRegistry component with the repository, access.py the keyless CI push, mirror.py the
pull-through cache, policies.py the documents."""

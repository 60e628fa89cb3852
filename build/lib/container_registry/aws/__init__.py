"""Amazon ECR: options.py checks the aws options (no SDK), registry.py builds the repository,
access.py the keyless CI push, mirror.py the pull-through cache, policies.py the documents."""

"""Google Artifact Registry: options.py checks the gcp options (no SDK), registry.py builds the
repository, access.py the reader grants and keyless CI push, mirror.py the remote repository,
policies.py the cleanup rules."""

"""Google Artifact Registry: args.py holds ArtifactRegistryArgs and options.py checks them (no
SDK), registry.py is the ArtifactRegistry component with the repository, access.py the reader
grants and keyless CI push, mirror.py the remote repository, policies.py the cleanup rules."""

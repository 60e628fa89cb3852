"""`python -m container_registry.cli`: what ./up.sh runs once venv/ is ready."""

from container_registry.cli.main import main

raise SystemExit(main())

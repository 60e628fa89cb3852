"""`python -m stack.cli`: what ./up.sh runs once venv/ is ready."""

from stack.cli.main import main

raise SystemExit(main())

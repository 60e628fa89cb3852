"""The stack program's own code, beside __main__.py and outside the package: the config mapping
(config/), the CLI behind ./up.sh (cli/) and the local stack's retention run (retention.py).
It uses container_registry's public API only, and the wheel does not hold it
(tests/test_layers.py, tests/test_package.py)."""

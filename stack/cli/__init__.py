"""The command behind ./up.sh: deploy a stack of this project, then say how to use it.

`./up.sh` only finds Python, makes venv/ and runs `python -m stack.cli`; every
flag and check lives here (docs/stacks.md describes them). Pulumi is driven through its
Automation API (`pulumi.automation`), which runs the Pulumi CLI underneath.
"""

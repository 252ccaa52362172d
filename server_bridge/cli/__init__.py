"""The farm's `hartomat` sub-commands (serve, token, worker, submit, status, fetch, farm,
output-type, parity): one `cmd_*.py` module each, like engine.cli's. The engine never imports
this package; `hartomat` finds it through the `hartomat.commands` entry point (pyproject.toml)."""

"""Run the CLI as ``python -m ocop_cli``."""

from .main import main

main()

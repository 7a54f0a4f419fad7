"""Run the command line as ``python -m akv_helpers.cli``."""

from akv_helpers.cli import main

main(prog_name="akv-onboard")

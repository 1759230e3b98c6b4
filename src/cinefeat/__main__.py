"""`python -m cinefeat` runs the CLI."""

from cinefeat.cli import main

main()

"""`python -m crimetiles`: the `crimetiles` command."""

from crimetiles.cli import main

main()

"""`python -m crimetiles`: the `crimetiles` command."""

from crimetiles.cli import main

if __name__ == "__main__":  # worker processes (spawned) import this module too
    main()

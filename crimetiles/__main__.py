"""`python -m crimetiles` and the `crimetiles` command.

The command's modules are imported when it runs, not when this module is: a build's worker
processes start by importing the main module, and then import only what their tasks need (the
whole command, its server included, cost each worker a sixth of a second more)."""


def main() -> None:
    from crimetiles.cli import main as command

    command()


if __name__ == "__main__":
    main()

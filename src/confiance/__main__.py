"""``python -m confiance``: the same command line as the ``confiance`` script."""

from confiance.cli import main

if __name__ == "__main__":
    main()

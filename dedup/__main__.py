"""``python -m dedup`` runs the command line."""

from dedup.cli import main

if __name__ == "__main__":
    main()

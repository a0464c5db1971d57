"""`python -m opsloop` runs the command line."""

from opsloop.cli import main

main()

"""Lets `python -m scaffold` work the same as the `scaffold` console script."""

from scaffold.cli import main

main()

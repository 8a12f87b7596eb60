"""The ``simenv`` command line (the top layer: nothing below imports it). See :mod:`simenv.cli.main`."""

from simenv.cli.main import main

__all__ = ["main"]

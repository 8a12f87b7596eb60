"""``python -m simenv``: the ``simenv`` command."""

from simenv.cli import run

run()

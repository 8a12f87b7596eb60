"""``python -m simenv``: the ``simenv`` command."""

import sys

from simenv.cli import main

sys.exit(main())

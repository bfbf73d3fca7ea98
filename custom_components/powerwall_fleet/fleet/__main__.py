"""Entry point of ``python -m custom_components.powerwall_fleet.fleet``: the ``fleetapi`` tool (cli.py)."""

import sys

from .cli import main

sys.exit(main())

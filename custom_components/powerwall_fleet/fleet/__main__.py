"""Entry point of ``python -m custom_components.powerwall_fleet.fleet``: the ``fleetapi`` tool in ``cli.py``.

It only hands the arguments to :func:`cli.main`; no Home Assistant import.
"""

import sys

from .cli import main

sys.exit(main())

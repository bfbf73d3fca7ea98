"""Entry point of the ``fleetapi`` tool (``cli.py``), with or without Home Assistant.

``python -I custom_components/powerwall_fleet/fleet ARGS`` (what
``scripts/fleetapi`` runs) needs only Python 3.11+, aiohttp and cryptography:
this folder is imported as the package ``fleet`` by its location, so neither
the integration's ``__init__.py`` (which imports Home Assistant) nor the
integration's folder on ``sys.path`` (its ``select.py`` and ``calendar.py``
would hide the standard library's) is involved. ``python -m
custom_components.powerwall_fleet.fleet`` still works where Home Assistant
is installed.
"""

import sys

MIN_PYTHON = (3, 11)
NEEDS = ("aiohttp", "cryptography")


def _standalone() -> int:
    """Import this folder as the package ``fleet`` and run the tool."""
    if sys.version_info < MIN_PYTHON:
        version = ".".join(map(str, sys.version_info[:3]))
        sys.stderr.write(f"fleetapi: needs Python 3.11 or newer; this is {version}\n")
        return 1
    import importlib.util  # noqa: PLC0415 - only on this path
    from pathlib import Path  # noqa: PLC0415

    here = Path(__file__).resolve().parent
    # Python put this folder first on sys.path: its modules are not top-level ones.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        sys.stderr.write(
            f"fleetapi: this Python ({sys.executable}) lacks {', '.join(missing)};"
            " the tool needs aiohttp and cryptography: use scripts/fleetapi (it"
            " makes .venv-fleetapi with them) or install them\n"
        )
        return 1
    spec = importlib.util.spec_from_file_location(
        "fleet", here / "__init__.py", submodule_search_locations=[str(here)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover - a file we ship
        raise ImportError(f"cannot load {here}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["fleet"] = package
    spec.loader.exec_module(package)
    cli = importlib.import_module("fleet.cli")
    status: int = cli.main()
    return status


if __package__:  # python -m custom_components.powerwall_fleet.fleet
    from .cli import main

    sys.exit(main())
else:  # python path/to/fleet
    sys.exit(_standalone())

"""What counts as Home Assistant reporting a deprecated use by this integration.

Home Assistant does not raise for most deprecated uses by a custom
integration: it logs a warning and carries on until the version named in the
warning. Two helpers write those warnings:

- ``helpers/frame.report_usage``: "Detected that custom integration
  'powerwall_fleet' <what> at custom_components/powerwall_fleet/<file>, line
  <n>: <code>. This will stop working in Home Assistant <version>, please ...";
- ``helpers/deprecation``: "The deprecated <kind> <name> was <used> from
  powerwall_fleet. It will be removed in HA Core <version>. Use ... instead".

The test suite (``tests/conftest.py``, each log record) and the browser tests
(``tests/e2e/stack.py``, Home Assistant's log) fail on either.
"""

from __future__ import annotations

from collections.abc import Iterable
import re

DOMAIN = "powerwall_fleet"

_REPORT = re.compile(
    rf"Detected that custom integration '{DOMAIN}' "
    rf"|The deprecated .+ from {DOMAIN}\."
    rf"|custom_components/{DOMAIN}/.*(?:deprecated|will stop working|will be removed)",
    re.IGNORECASE,
)


def is_deprecation_report(message: str) -> bool:
    """Whether a log message is Home Assistant reporting a use by the integration."""
    return _REPORT.search(message) is not None


def deprecation_reports(lines: Iterable[str]) -> list[str]:
    """The lines of a log that report a deprecated use by the integration."""
    return [line for line in lines if is_deprecation_report(line)]

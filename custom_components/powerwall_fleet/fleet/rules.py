"""Tesla's rules for the settings a client may send, shared by the integration and the ``fleetapi`` tool.

Owns the highest backup reserve outside backup-only mode and the half-up
rounding to a whole percent.
"""

from __future__ import annotations

import math

# Tesla refuses a backup reserve of 81-99 % unless the site is in backup-only
# mode (FLEET_API.md, "backup reserve"): 80 is the highest reserve allowed in
# self-powered and time-based control, 100 is always allowed.
MAX_RESERVE_OUTSIDE_BACKUP = 80


def whole_percent(value: float) -> int:
    """``value`` rounded half up to a whole percent (64.5 → 65, 64.4 → 64).

    The caller checks the range first; a value outside 0-100 is clamped.
    """
    return max(0, min(100, math.floor(value + 0.5)))


def reserve_only_in_backup(percent: int) -> bool:
    """Whether Tesla accepts ``percent`` as backup reserve only in backup-only mode (81-99 %)."""
    return MAX_RESERVE_OUTSIDE_BACKUP < percent < 100


def reserve_needs_backup_mode(percent: int, mode: str | None) -> bool:
    """Whether Tesla would refuse ``percent`` as backup reserve in operation ``mode``.

    81-99 % is accepted only in backup-only mode (``"backup"``); an unknown
    mode (``None``) refuses nothing.
    """
    return reserve_only_in_backup(percent) and mode is not None and mode != "backup"

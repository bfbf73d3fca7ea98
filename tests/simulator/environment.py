"""The world around a simulated site: the sun, the clouds and the household's demand.

Owns the deterministic models of available solar power and of the household load (seeded
noise, no randomness from the clock or from polling).  Knows nothing of the battery, the
settings or the energy history: ``physics.py`` asks it for powers at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
import math
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .scenario import SiteConfig

_MASK = (1 << 64) - 1


def _hash01(seed: int, index: int) -> float:
    """Deterministic uniform value in [0, 1) for (seed, index) (splitmix64)."""
    x = (
        seed * 0x9E3779B97F4A7C15 + index * 0xD1B54A32D192ED03 + 0x9E3779B97F4A7C15
    ) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x / 18446744073709551616.0


class _ValueNoise:
    """Smooth deterministic noise in [0, 1) with knots every ``period`` seconds."""

    __slots__ = ("_a", "_b", "_i", "_period", "_seed")

    def __init__(self, seed: int, period: float) -> None:
        self._seed = seed
        self._period = period
        self._i = -1 << 62
        self._a = 0.0
        self._b = 0.0

    def __call__(self, t: float) -> float:
        u = t / self._period
        i = math.floor(u)
        if i != self._i:
            if i == self._i + 1:
                self._a = self._b
            else:
                self._a = _hash01(self._seed, i)
            self._b = _hash01(self._seed, i + 1)
            self._i = i
        f = u - i
        return self._a + (self._b - self._a) * f * f * (3.0 - 2.0 * f)


def zone_for(name: str) -> tzinfo:
    """ZoneInfo for ``name`` or UTC for an empty name."""
    return ZoneInfo(name) if name else UTC


class SiteEnvironment:
    """Solar potential and household demand of one site, in the zone its household lives by."""

    def __init__(self, config: SiteConfig) -> None:
        """Seed the models from the site's configuration."""
        self.config = config
        self.zone = zone_for(config.physics_time_zone or config.time_zone)
        self._lat = math.radians(config.latitude)
        self._lon_frac = config.longitude / 360.0
        self._solar_day = -(1 << 62)
        self._sun_a = 0.0
        self._sun_b = 0.0
        self._clear = 1.0
        self._offset_hour = -(1 << 62)
        self._offset = 0.0
        seed = config.seed * 1000 + 7
        self._seed = seed
        self._cloud_noise = _ValueNoise(seed + 1, 1200.0)
        self._load_noise = _ValueNoise(seed + 2, 600.0)
        self._load_scale = config.load_scale
        self._charging_w = config.charging_w  # cars at the Wall Connectors
        self._slot = -(1 << 62)
        self._appliance = 0.0

    def local_hour(self, t: float) -> float:
        """Hour of the local day (0 ≤ h < 24, fractional) at POSIX time ``t``."""
        hour = int(t // 3600)
        if hour != self._offset_hour:
            self._offset_hour = hour
            offset = datetime.fromtimestamp(hour * 3600, self.zone).utcoffset()
            self._offset = offset.total_seconds() if offset else 0.0
        return ((t + self._offset) % 86400.0) / 3600.0

    def solar_potential(self, t: float) -> float:
        """Available solar power (W) at POSIX time ``t`` (before curtailment)."""
        cfg = self.config
        if cfg.solar_w <= 0:
            return 0.0
        solar_days = t / 86400.0 + self._lon_frac
        day = math.floor(solar_days)
        if day != self._solar_day:
            self._solar_day = day
            doy = (day - 0.5) % 365.2422
            decl = math.radians(23.44) * math.sin(2 * math.pi * (doy - 79.0) / 365.2422)
            self._sun_a = math.sin(self._lat) * math.sin(decl)
            self._sun_b = math.cos(self._lat) * math.cos(decl)
            r = _hash01(self._seed, day)
            self._clear = 1.0 - 0.65 * r * r
        sin_elev = self._sun_a + self._sun_b * math.cos(
            2 * math.pi * (solar_days - day - 0.5)
        )
        if sin_elev <= 0.0:
            return 0.0
        cloud = 1.0 - (1.0 - self._clear) * (0.4 + 1.2 * self._cloud_noise(t))
        cloud = min(1.0, max(0.08, cloud))
        return cfg.solar_w * 0.88 * sin_elev**1.15 * cloud

    def demand(self, t: float, h: float) -> float:
        """Household demand (W) at POSIX time ``t`` whose local hour is ``h``."""
        m = (h - 7.3) / 0.9
        e = (h - 19.0) / 1.7
        d = (h - 13.0) / 2.6
        demand = 320.0
        if m * m < 30.0:
            demand += 900.0 * math.exp(-m * m)
        if e * e < 30.0:
            demand += 1600.0 * math.exp(-e * e)
        if d * d < 30.0:
            demand += 260.0 * math.exp(-d * d)
        demand *= 0.8 + 0.4 * self._load_noise(t)
        slot = int(t // 900)
        if slot != self._slot:  # an appliance runs for 15 minutes now and then
            self._slot = slot
            self._appliance = 1800.0 if _hash01(self._seed + 3, slot) > 0.93 else 0.0
        return (demand + self._appliance) * self._load_scale + self._charging_w

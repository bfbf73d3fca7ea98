"""Time-of-use entities: current period, buy and sell price, next change.

Owns :class:`TouEntity` (follows the tariff in site_info) and these sensors:
each updates itself at the tariff's next change in the site's time zone, so
states change on time without extra requests.
A tariff that appears after setup brings its entities with the next site_info.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity
from .fleet import SiteInfo
from .fleet.tariff import (
    PricePoint,
    Tariff,
    TariffError,
    next_change,
    parse_tariff,
    resolve,
)
from .site import site_zone

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

PERIOD_STATES = ["on_peak", "partial_peak", "off_peak", "super_off_peak"]


def has_tariff(info: SiteInfo) -> bool:
    """Whether the site does time-of-use and reports a tariff."""
    return bool(
        info.components
        and info.components.tou_capable
        and info.tariff_content_v2 is not None
    )


class TariffTracker:
    """The parsed tariff of a site, re-parsed only when site_info brings a new one."""

    def __init__(self) -> None:
        """Nothing parsed yet."""
        self._raw: object = None
        self._tariff: Tariff | None = None

    def tariff(self, info: SiteInfo | None) -> Tariff | None:
        """The site's tariff, or None when absent or malformed."""
        raw = info.tariff_content_v2 if info is not None else None
        if raw is not self._raw:
            self._raw = raw
            try:
                self._tariff = parse_tariff(raw) if raw is not None else None
            except TariffError:
                self._tariff = None
        return self._tariff


class TouEntity(PowerwallFleetEntity[InfoCoordinator]):
    """Base: knows the tariff and wakes up at its next change."""

    def __init__(
        self, site: SiteCoordinators, description: SensorEntityDescription | Any
    ) -> None:
        """Read the tariff from the site's info coordinator."""
        super().__init__(site, site.info, description)
        self._tracker = TariffTracker()
        self._unsub_timer: CALLBACK_TYPE | None = None

    @property
    def tariff(self) -> Tariff | None:
        """The tariff the site reports now."""
        return self._tracker.tariff(self.info)

    @property
    def zone(self) -> tzinfo:
        """The site's time zone."""
        return site_zone(self.info)

    def point(self, when: datetime | None = None) -> PricePoint | None:
        """What applies at ``when`` (default: now)."""
        tariff = self.tariff
        if tariff is None:
            return None
        return resolve(tariff, when or dt_util.utcnow(), self.zone)

    def upcoming(self) -> tuple[datetime, PricePoint] | None:
        """The next change and what applies then."""
        tariff = self.tariff
        if tariff is None:
            return None
        return next_change(tariff, dt_util.utcnow(), self.zone)

    @property
    def available(self) -> bool:
        """Unavailable without a readable tariff."""
        return super().available and self.tariff is not None

    async def async_added_to_hass(self) -> None:
        """Start following the clock."""
        await super().async_added_to_hass()
        self._schedule()
        self.async_on_remove(self._cancel_timer)

    @callback
    def _handle_coordinator_update(self) -> None:
        """A new site_info may carry a new tariff: re-plan, then write."""
        self._schedule()
        super()._handle_coordinator_update()

    @callback
    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _schedule(self) -> None:
        self._cancel_timer()
        upcoming = self.upcoming()
        if upcoming is not None:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._tick, upcoming[0]
            )

    @callback
    def _tick(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._schedule()
        self.async_write_ha_state()


@dataclass(frozen=True, kw_only=True)
class TouSensorDescription(SensorEntityDescription):
    """A time-of-use sensor."""

    value_fn: Callable[[TouSensor], Any]
    exists_fn: Callable[[Tariff | None], bool] = lambda tariff: True


def _period_state(sensor: TouSensor) -> str | None:
    point = sensor.point()
    if point is None or point.period is None:
        return None
    state = point.period.lower()
    return state if state in PERIOD_STATES else None


def _buy(sensor: TouSensor) -> float | None:
    point = sensor.point()
    return point.buy if point is not None else None


def _sell(sensor: TouSensor) -> float | None:
    point = sensor.point()
    return point.sell if point is not None else None


def _next_change(sensor: TouSensor) -> datetime | None:
    upcoming = sensor.upcoming()
    return upcoming[0] if upcoming is not None else None


TOU_SENSORS: tuple[TouSensorDescription, ...] = (
    TouSensorDescription(
        key="tou_period",
        translation_key="tou_period",
        device_class=SensorDeviceClass.ENUM,
        options=PERIOD_STATES,
        value_fn=_period_state,
    ),
    TouSensorDescription(
        key="tou_buy_price",
        translation_key="tou_buy_price",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=4,
        value_fn=_buy,
    ),
    TouSensorDescription(
        key="tou_sell_price",
        translation_key="tou_sell_price",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=4,
        value_fn=_sell,
        exists_fn=lambda tariff: tariff is None or tariff.sell is not None,
    ),
    TouSensorDescription(
        key="tou_next_change",
        translation_key="tou_next_change",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_change,
    ),
)


class TouSensor(TouEntity, SensorEntity):
    """Current period, price or next change of the site's tariff."""

    entity_description: TouSensorDescription

    @property
    def native_value(self) -> Any:
        """The value now."""
        return self.entity_description.value_fn(self)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Prices per kWh in the tariff's currency (what the Energy dashboard wants)."""
        if self.entity_description.device_class is not SensorDeviceClass.MONETARY:
            return None
        tariff = self.tariff
        currency = tariff.currency if tariff is not None else None
        return f"{currency}/kWh" if currency else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Season and Tesla's period name for the current period."""
        if self.entity_description.key != "tou_period":
            return None
        point = self.point()
        if point is None:
            return None
        return {"season": point.season, "period": point.period}


def tou_sensors(site: SiteCoordinators) -> list[TouSensor]:
    """The site's time-of-use sensors (none when it has no tariff)."""
    info = site.info.latest
    if info is None or not has_tariff(info):
        return []
    tariff = TariffTracker().tariff(info)
    return [
        TouSensor(site, description)
        for description in TOU_SENSORS
        if description.exists_fn(tariff)
    ]


def async_add_tou_entities(
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[SiteCoordinators], Iterable[Entity]],
) -> None:
    """Add each site's time-of-use entities now and whenever site_info brings new ones.

    ``build`` gives the entities the site's latest site_info calls for (none
    without a tariff); each is added once, on the first site_info that calls
    for it: a tariff set after setup, or one gaining sell prices, needs no
    reload. Entities stay when the tariff goes (they are unavailable then).
    """
    for site in entry.runtime_data.sites.values():
        follow = _TariffFollower(site, async_add_entities, build)
        follow.update()
        entry.async_on_unload(site.info.async_add_listener(follow.update))


class _TariffFollower:
    """Which time-of-use entities of one site exist, kept in step with site_info."""

    def __init__(
        self,
        site: SiteCoordinators,
        async_add_entities: AddConfigEntryEntitiesCallback,
        build: Callable[[SiteCoordinators], Iterable[Entity]],
    ) -> None:
        self.site = site
        self.async_add_entities = async_add_entities
        self.build = build
        self.added: set[str | None] = set()

    @callback
    def update(self) -> None:
        """Add the entities the latest site_info calls for and that are not there yet."""
        info = self.site.info.latest
        if info is None or not has_tariff(info):
            return
        new = [
            entity
            for entity in self.build(self.site)
            if entity.unique_id not in self.added
        ]
        if new:
            self.added.update(entity.unique_id for entity in new)
            self.async_add_entities(new)

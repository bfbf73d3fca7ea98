"""Options flow: poll intervals with the requests per day they cost, price entities, price sync.

Owns the options form and its confirm step; options the form does not show
are kept.
"""

from __future__ import annotations

from enum import Enum, auto
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    DateSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from ..const import (
    CONF_BREAKDOWN_STATISTICS,
    CONF_EXPORT_PRICE_ENTITY,
    CONF_HISTORY_FROM,
    CONF_HISTORY_INTERVAL,
    CONF_IMPORT_PRICE_ENTITY,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    CONF_PRICE_SYNC,
    CONF_PRICE_SYNC_BUY,
    CONF_PRICE_SYNC_ENABLED,
    CONF_PRICE_SYNC_INTERVAL,
    CONF_PRICE_SYNC_SELL,
    CONF_SITE_IDS,
    DEFAULT_BREAKDOWN_STATISTICS,
    DEFAULT_HISTORY_INTERVAL,
    DEFAULT_INFO_INTERVAL,
    DEFAULT_LIVE_INTERVAL,
    DEFAULT_PRICE_SYNC_INTERVAL,
    MAX_HISTORY_INTERVAL,
    MAX_INFO_INTERVAL,
    MAX_LIVE_INTERVAL,
    MAX_PRICE_SYNC_INTERVAL,
    MIN_HISTORY_INTERVAL,
    MIN_INFO_INTERVAL,
    MIN_LIVE_INTERVAL,
    MIN_PRICE_SYNC_INTERVAL,
    price_sync_requests_per_day,
    requests_per_day,
)
from ..energy.dynamic_prices import PriceUnit, foreign_currency, parse_price_unit
from ..energy.lifetime import LIFETIME_DAILY_CAP
from ..prices.forecast import EXPECTED, ForecastError, read_forecast

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol
else:
    import voluptuous as vol


INTERVALS = (CONF_LIVE_INTERVAL, CONF_INFO_INTERVAL, CONF_HISTORY_INTERVAL)
# The price entities' fields.
PRICE_ENTITIES = (CONF_IMPORT_PRICE_ENTITY, CONF_EXPORT_PRICE_ENTITY)
# What the form owns: a key it leaves out (a cleared entity) is removed.
FORM_KEYS = (
    *INTERVALS,
    *PRICE_ENTITIES,
    CONF_BREAKDOWN_STATISTICS,
    CONF_HISTORY_FROM,
    CONF_PRICE_SYNC,
)
PRICE_DOMAINS = ["sensor", "input_number", "number"]
# Price sync reads a forecast: sensors, and Octopus Energy's rate events.
SYNC_DOMAINS = ["sensor", "event"]


class _Problem(Enum):
    """Why a price entity cannot be used (besides an unreadable unit)."""

    MISSING = auto()
    NO_UNIT = auto()


class PowerwallFleetOptionsFlow(OptionsFlowWithReload):
    """Poll intervals with the request budget they cost, price entities, statistics."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._chosen: dict[str, Any] = {}

    def _history_cost(self, chosen: Any) -> dict[str, str]:
        """The one-off cost of importing the history back to the installation (or ``chosen``)."""
        runtime = getattr(self.config_entry, "runtime_data", None)
        sites = runtime.sites.values() if runtime is not None else ()
        left = sum(site.lifetime.requests_left(chosen) for site in sites)
        return {
            "history_requests": f"{left:,}",
            "history_cap": f"{LIFETIME_DAILY_CAP:,}",
        }

    def _estimate(self, live: float, info: float, history: float) -> dict[str, str]:
        sites = max(1, len(self.config_entry.data.get(CONF_SITE_IDS, [])))
        per_day = requests_per_day(live, info, history, sites)
        default = requests_per_day(
            DEFAULT_LIVE_INTERVAL,
            DEFAULT_INFO_INTERVAL,
            DEFAULT_HISTORY_INTERVAL,
            sites,
        )
        return {
            "sites": str(sites),
            "per_day": f"{per_day:,}",
            "per_month": f"{per_day * 30:,}",
            "default_per_day": f"{default:,}",
        }

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The intervals with what the current ones cost, the price entities, statistics."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        values: dict[str, Any] = dict(self.config_entry.options)
        if user_input is not None:
            values = {key: user_input[key] for key in FORM_KEYS if key in user_input}
            for key in PRICE_ENTITIES:
                if (entity_id := values.get(key)) is None:
                    continue
                # The selector also takes an entity registry id: keep the entity id.
                if registered := er.async_get(self.hass).async_get(entity_id):
                    values[key] = entity_id = registered.entity_id
                found = self._price_entity_check(entity_id)
                if isinstance(found, PriceUnit):
                    # The Energy dashboard shows every cost in Home
                    # Assistant's currency: a price in another is refused.
                    if (currency := foreign_currency(self.hass, found)) is None:
                        continue
                    placeholders["home_currency"] = self.hass.config.currency
                    if key == CONF_IMPORT_PRICE_ENTITY:
                        errors[key] = "import_price_currency"
                        placeholders["import_currency"] = currency
                    else:
                        errors[key] = "export_price_currency"
                        placeholders["export_currency"] = currency
                elif found is _Problem.MISSING:
                    errors[key] = "price_entity_missing"
                elif found is _Problem.NO_UNIT:
                    errors[key] = "price_entity_no_unit"
                elif key == CONF_IMPORT_PRICE_ENTITY:  # its message shows its unit
                    errors[key] = "import_price_unit"
                    placeholders["import_unit"] = found
                else:
                    errors[key] = "export_price_unit"
                    placeholders["export_unit"] = found
            if not errors and (problem := self._price_sync_problem(values)):
                reason = problem[0]
                placeholders["entity"] = problem[1]
                if reason == "no_entity":
                    errors["base"] = "price_sync_no_entity"
                elif reason == "shape":
                    errors["base"] = "price_sync_shape"
                    placeholders["expected"] = EXPECTED
                elif reason == "unit":
                    errors["base"] = "price_sync_unit"
                else:
                    errors["base"] = "price_sync_unavailable"
            if not errors:
                self._chosen = {
                    **values,
                    **{key: int(values[key]) for key in INTERVALS},
                }
                return await self.async_step_confirm()
        options = self.config_entry.options
        live = values.get(CONF_LIVE_INTERVAL, DEFAULT_LIVE_INTERVAL)
        info = values.get(CONF_INFO_INTERVAL, DEFAULT_INFO_INTERVAL)
        history = values.get(CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL)
        current = self._estimate(
            options.get(CONF_LIVE_INTERVAL, DEFAULT_LIVE_INTERVAL),
            options.get(CONF_INFO_INTERVAL, DEFAULT_INFO_INTERVAL),
            options.get(CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL),
        )
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_LIVE_INTERVAL, default=live): _number(
                        MIN_LIVE_INTERVAL, MAX_LIVE_INTERVAL, "s"
                    ),
                    vol.Required(CONF_INFO_INTERVAL, default=info): _number(
                        MIN_INFO_INTERVAL, MAX_INFO_INTERVAL, "min"
                    ),
                    vol.Required(CONF_HISTORY_INTERVAL, default=history): _number(
                        MIN_HISTORY_INTERVAL, MAX_HISTORY_INTERVAL, "min"
                    ),
                    # Suggested, not defaults: a cleared field is left out.
                    **{
                        vol.Optional(
                            key, description={"suggested_value": values.get(key)}
                        ): EntitySelector(EntitySelectorConfig(domain=PRICE_DOMAINS))
                        for key in PRICE_ENTITIES
                    },
                    vol.Optional(
                        CONF_BREAKDOWN_STATISTICS,
                        description={
                            "suggested_value": values.get(
                                CONF_BREAKDOWN_STATISTICS, DEFAULT_BREAKDOWN_STATISTICS
                            )
                        },
                    ): BooleanSelector(),
                    vol.Optional(
                        CONF_HISTORY_FROM,
                        description={"suggested_value": values.get(CONF_HISTORY_FROM)},
                    ): DateSelector(),
                    vol.Optional(CONF_PRICE_SYNC): _price_sync_section(
                        values.get(CONF_PRICE_SYNC) or {}
                    ),
                }
            ),
            description_placeholders={
                **current,
                **self._history_cost(values.get(CONF_HISTORY_FROM)),
                **placeholders,
            },
            errors=errors,
        )

    def _price_entity_check(self, entity_id: str) -> PriceUnit | _Problem | str:
        """What a price entity's unit means, else its problem or the unit it has.

        The unit comes from the entity's state, or from the entity registry
        while the entity has no state (its integration still starting).
        """
        state = self.hass.states.get(entity_id)
        registered = er.async_get(self.hass).async_get(entity_id)
        if state is None and registered is None:
            return _Problem.MISSING
        unit: object = None
        if state is not None:
            unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        if unit is None and registered is not None:
            unit = registered.unit_of_measurement
        if (price_unit := parse_price_unit(self.hass, unit)) is not None:
            return price_unit
        if not isinstance(unit, str) or not unit:
            return _Problem.NO_UNIT
        return unit

    def _price_sync_problem(self, values: dict[str, Any]) -> tuple[str, str] | None:
        """Price sync's entities: None when each has a forecast it reads.

        Else why not (``no_entity``, ``shape``, ``unit``, ``unavailable``) and
        which entity.
        """
        chosen = values.get(CONF_PRICE_SYNC) or {}
        registry = er.async_get(self.hass)
        for key in (CONF_PRICE_SYNC_BUY, CONF_PRICE_SYNC_SELL):
            if (entity_id := chosen.get(key)) and (
                registered := registry.async_get(entity_id)
            ):
                chosen[key] = registered.entity_id
        if CONF_PRICE_SYNC_INTERVAL in chosen:
            chosen[CONF_PRICE_SYNC_INTERVAL] = int(chosen[CONF_PRICE_SYNC_INTERVAL])
        if not chosen.get(CONF_PRICE_SYNC_ENABLED):
            return None
        if not chosen.get(CONF_PRICE_SYNC_BUY):
            return "no_entity", ""
        for key in (CONF_PRICE_SYNC_BUY, CONF_PRICE_SYNC_SELL):
            if not (entity_id := chosen.get(key)):
                continue
            try:
                read_forecast(self.hass, self.hass.states.get(entity_id))
            except ForecastError as err:
                return err.reason, entity_id
        return None

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the chosen intervals cost before saving them."""
        if user_input is not None:
            kept = {
                key: value
                for key, value in self.config_entry.options.items()
                if key not in FORM_KEYS
            }
            return self.async_create_entry(data={**kept, **self._chosen})
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                **self._estimate(
                    self._chosen[CONF_LIVE_INTERVAL],
                    self._chosen[CONF_INFO_INTERVAL],
                    self._chosen[CONF_HISTORY_INTERVAL],
                ),
                "sync_per_day": f"{self._sync_per_day(self._chosen):,}",
                "live": str(self._chosen[CONF_LIVE_INTERVAL]),
                "info": str(self._chosen[CONF_INFO_INTERVAL]),
                "history": str(self._chosen[CONF_HISTORY_INTERVAL]),
                **self._history_cost(self._chosen.get(CONF_HISTORY_FROM)),
            },
        )

    def _sync_per_day(self, chosen: dict[str, Any]) -> int:
        """Price sync's requests a day at most (0 while it is off)."""
        sync = chosen.get(CONF_PRICE_SYNC) or {}
        if not sync.get(CONF_PRICE_SYNC_ENABLED):
            return 0
        sites = max(1, len(self.config_entry.data.get(CONF_SITE_IDS, [])))
        interval = sync.get(CONF_PRICE_SYNC_INTERVAL, DEFAULT_PRICE_SYNC_INTERVAL)
        return price_sync_requests_per_day(interval, sites)


def _price_sync_section(current: dict[str, Any]) -> section:
    """The "Sync prices to the Powerwall" section (collapsed)."""
    return section(
        vol.Schema(
            {
                vol.Required(
                    CONF_PRICE_SYNC_ENABLED,
                    default=bool(current.get(CONF_PRICE_SYNC_ENABLED, False)),
                ): BooleanSelector(),
                **{
                    vol.Optional(
                        key, description={"suggested_value": current.get(key)}
                    ): EntitySelector(EntitySelectorConfig(domain=SYNC_DOMAINS))
                    for key in (CONF_PRICE_SYNC_BUY, CONF_PRICE_SYNC_SELL)
                },
                vol.Required(
                    CONF_PRICE_SYNC_INTERVAL,
                    default=current.get(
                        CONF_PRICE_SYNC_INTERVAL, DEFAULT_PRICE_SYNC_INTERVAL
                    ),
                ): _number(MIN_PRICE_SYNC_INTERVAL, MAX_PRICE_SYNC_INTERVAL, "min"),
            }
        ),
        {"collapsed": not current.get(CONF_PRICE_SYNC_ENABLED)},
    )


def _number(minimum: int, maximum: int, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )

"""Options flow: the three poll intervals, with the requests per day they cost.

Owns the options form and its confirm step. The estimate itself is
``const.requests_per_day`` (checked against the simulator's request counter);
nothing here sends a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from .const import (
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    CONF_SITE_IDS,
    DEFAULT_HISTORY_INTERVAL,
    DEFAULT_INFO_INTERVAL,
    DEFAULT_LIVE_INTERVAL,
    MAX_HISTORY_INTERVAL,
    MAX_INFO_INTERVAL,
    MAX_LIVE_INTERVAL,
    MIN_HISTORY_INTERVAL,
    MIN_INFO_INTERVAL,
    MIN_LIVE_INTERVAL,
    requests_per_day,
)

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol
else:
    import voluptuous as vol


class PowerwallFleetOptionsFlow(OptionsFlowWithReload):
    """Poll intervals, with the request budget they cost."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._chosen: dict[str, int] = {}

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
        """The three intervals, with what the current ones cost."""
        if user_input is not None:
            self._chosen = {key: int(value) for key, value in user_input.items()}
            return await self.async_step_confirm()
        options = self.config_entry.options
        live = options.get(CONF_LIVE_INTERVAL, DEFAULT_LIVE_INTERVAL)
        info = options.get(CONF_INFO_INTERVAL, DEFAULT_INFO_INTERVAL)
        history = options.get(CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL)
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
                }
            ),
            description_placeholders=self._estimate(live, info, history),
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the chosen intervals cost before saving them."""
        if user_input is not None:
            return self.async_create_entry(data=self._chosen)
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                **self._estimate(
                    self._chosen[CONF_LIVE_INTERVAL],
                    self._chosen[CONF_INFO_INTERVAL],
                    self._chosen[CONF_HISTORY_INTERVAL],
                ),
                "live": str(self._chosen[CONF_LIVE_INTERVAL]),
                "info": str(self._chosen[CONF_INFO_INTERVAL]),
                "history": str(self._chosen[CONF_HISTORY_INTERVAL]),
            },
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

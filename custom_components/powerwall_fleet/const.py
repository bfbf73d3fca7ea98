"""Constants for the Tesla Powerwall (Fleet API) integration."""

from typing import Final

DOMAIN: Final = "powerwall_fleet"

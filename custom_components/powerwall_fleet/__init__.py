"""The Tesla Powerwall (Fleet API) integration."""

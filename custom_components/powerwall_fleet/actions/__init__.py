"""Every action of the integration, with one target resolver."""

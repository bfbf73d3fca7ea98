"""Overrides: the record, the engine that restores, the entities."""

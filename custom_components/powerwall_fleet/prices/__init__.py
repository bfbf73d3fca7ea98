"""Price sync: a Home Assistant price forecast pushed into a site's Tesla tariff.

Owns reading forecasts in the shapes the popular price integrations publish
(``forecast``), grouping prices into Tesla's four price levels (``levels``),
building the ``tariff_content_v2`` (``builder``), pushing it with the
fail-safe and the restores (``sync``) and the ``price_sync`` sensor
(``entities``).
"""

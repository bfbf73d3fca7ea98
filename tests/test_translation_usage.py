"""The source scan behind test_translations.py, on made-up code.

It must find keys handed on through parameters and exceptions, with their
placeholders, and fail on a key it cannot follow rather than skip it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .source_index import Unresolved
from .source_resolve import Scanner
from .translation_usage import scan

FAKE_FLOW = """
from homeassistant.config_entries import ConfigFlow
from homeassistant.exceptions import ServiceValidationError


class Refused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason


def check(value):
    if value:
        raise Refused("too_big", "x")


def refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain="fake", translation_key=key, translation_placeholders=placeholders
    )


def act():
    raise refuse("no_site", site="Home")


class Flow(ConfigFlow, domain="fake"):
    async def async_step_user(self, user_input=None):
        errors = {}
        try:
            check(user_input)
        except Refused as err:
            errors["base"] = err.reason
        return self.async_show_form(step_id="user", errors=errors)
"""


def test_scan_follows_keys_through_the_code(tmp_path: Path) -> None:
    """Keys passed on through parameters and exceptions are found, with placeholders."""
    (tmp_path / "flow.py").write_text(FAKE_FLOW, encoding="utf-8")
    found = {
        (use.path, use.placeholders.names if use.placeholders else None)
        for use in scan(Scanner(tmp_path, "fake"))
    }
    assert found == {
        (("config", "error", "too_big"), None),
        (("config", "step", "user"), frozenset()),
        (("exceptions", "no_site"), frozenset({"site"})),
    }


def test_scan_refuses_what_it_cannot_follow(tmp_path: Path) -> None:
    """A key computed at run time fails the scan instead of being skipped."""
    (tmp_path / "flow.py").write_text(
        FAKE_FLOW + '\n\ndef other(name):\n    raise refuse(f"no_{name}")\n',
        encoding="utf-8",
    )
    with pytest.raises(Unresolved, match="no_"):
        scan(Scanner(tmp_path, "fake"))


FAKE_ISSUES = """
from dataclasses import dataclass

from homeassistant.helpers import issue_registry as ir


@dataclass(frozen=True, kw_only=True)
class Row:
    translation_key: str
    is_fixable: bool
    placeholders: tuple[str, ...]


GONE = Row(translation_key="gone", is_fixable=True, placeholders=("site", "title"))
SLOW = Row(translation_key="slow", is_fixable=False, placeholders=("title",))


def raise_issue(hass, row: Row, **texts: str) -> None:
    ir.async_create_issue(
        hass,
        "fake",
        row.translation_key,
        is_fixable=row.is_fixable,
        translation_key=row.translation_key,
        translation_placeholders=texts,
    )


def now(hass) -> None:
    raise_issue(hass, SLOW, title="x")
"""


def test_scan_reads_the_issue_table(tmp_path: Path) -> None:
    """Each row of an issue table is one use, with what it declares; the generic raise none."""
    (tmp_path / "issues.py").write_text(FAKE_ISSUES, encoding="utf-8")
    found = {
        (use.path, use.placeholders.names if use.placeholders else None, use.fixable)
        for use in scan(Scanner(tmp_path, "fake"))
    }
    assert found == {
        (("issues", "gone"), frozenset({"site", "title"}), True),
        (("issues", "slow"), frozenset({"title"}), False),
    }

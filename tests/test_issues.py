"""The repair-issue table (issues.py) against en.json, the fix flows and the source.

Every issue has its texts with exactly the placeholders the table declares,
every fixable issue has a fix flow (and only those), and no module but
issues.py builds an issue id or talks to the issue registry.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.powerwall_fleet.issues import (
    ISSUES,
    RepairIssue,
    entry_issue_ids,
    issue_of,
)
from custom_components.powerwall_fleet.repairs import FIX_FLOWS, async_create_fix_flow

from .source_index import placeholders_in

PACKAGE_DIR = (
    Path(__file__).resolve().parent.parent / "custom_components" / ("powerwall_fleet")
)
ISSUES_MODULE = PACKAGE_DIR / "issues.py"


@pytest.fixture(scope="module")
def issue_texts() -> dict[str, Any]:
    """The ``issues`` section of translations/en.json."""
    strings = json.loads(
        (PACKAGE_DIR / "translations" / "en.json").read_text(encoding="utf-8")
    )
    texts: dict[str, Any] = strings["issues"]
    return texts


def _texts(issue: dict[str, Any]) -> list[str]:
    """An issue's title, description and fix-flow step texts."""
    found = [issue[key] for key in ("title", "description") if key in issue]
    for step in issue.get("fix_flow", {}).get("step", {}).values():
        found.extend(step[key] for key in ("title", "description") if key in step)
    return found


def test_every_issue_has_its_texts(issue_texts: dict[str, Any]) -> None:
    """One row per issue in en.json, and one issue in en.json per row."""
    keys = [issue.translation_key for issue in ISSUES]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(issue_texts)


@pytest.mark.parametrize("issue", ISSUES, ids=lambda issue: issue.translation_key)
def test_placeholders_are_the_texts(
    issue: RepairIssue, issue_texts: dict[str, Any]
) -> None:
    """The placeholders a row declares are exactly those its texts name."""
    named = set().union(
        *(placeholders_in(text) for text in _texts(issue_texts[issue.translation_key]))
    )
    assert sorted(issue.placeholders) == sorted(named)


@pytest.mark.parametrize("issue", ISSUES, ids=lambda issue: issue.translation_key)
def test_fixable_issues_have_a_fix_flow_text(
    issue: RepairIssue, issue_texts: dict[str, Any]
) -> None:
    """A fixable issue's text is its fix flow; the others explain in a description."""
    text = issue_texts[issue.translation_key]
    assert ("fix_flow" in text) is issue.is_fixable
    assert ("description" in text) is not issue.is_fixable


def test_fix_flows_are_the_fixable_issues() -> None:
    """repairs.py has a fix flow for every fixable issue and for no other."""
    assert set(FIX_FLOWS) == {issue for issue in ISSUES if issue.is_fixable}


@pytest.mark.parametrize("issue", ISSUES, ids=lambda issue: issue.translation_key)
async def test_fix_flow_of_each_issue(hass: HomeAssistant, issue: RepairIssue) -> None:
    """The Repairs dashboard gets the issue's flow, or is told it has none."""
    issue_id = issue.issue_id("1234")
    if issue.is_fixable:
        flow = await async_create_fix_flow(hass, issue_id, None)
        assert type(flow) is FIX_FLOWS[issue]
    else:
        with pytest.raises(ValueError, match="no fix flow"):
            await async_create_fix_flow(hass, issue_id, None)


async def test_no_fix_flow_for_an_id_not_ours(hass: HomeAssistant) -> None:
    """An id no row builds has no flow."""
    with pytest.raises(ValueError, match="no fix flow"):
        await async_create_fix_flow(hass, "something_else_1234", None)


def test_every_id_reads_back_to_its_row() -> None:
    """An id names its row and no other (no id is the start of another row's)."""
    for issue in ISSUES:
        for owner in ("01JABCDEF", 1234, "site_unavailable_1"):
            assert issue_of(issue.issue_id(owner)) is issue
        others = [other for other in ISSUES if other is not issue]
        assert not [
            other
            for other in others
            if issue.issue_id("").startswith(other.issue_id(""))
        ]
    assert issue_of("rate_limit_abc") is None
    assert issue_of("missing_scopes") is None


def test_entry_issue_ids_lists_every_issue_of_the_entry_and_its_sites() -> None:
    """The entry's own issues once, each site's issues per site."""
    ids = entry_issue_ids("abc", [7001, "7002"])
    assert sorted(ids) == sorted(
        [
            "rate_limited_abc",
            "missing_scopes_abc",
            "partner_not_registered_abc",
            "site_unavailable_7001",
            "site_unavailable_7002",
            "override_restore_7001",
            "override_restore_7002",
            "tariff_currency_mismatch_7001",
            "tariff_currency_mismatch_7002",
            "dispatch_not_acting_7001",
            "dispatch_not_acting_7002",
            "price_sync_stale_7001",
            "price_sync_stale_7002",
            "price_sync_restore_7001",
            "price_sync_restore_7002",
        ]
    )
    assert {issue_of(issue_id) for issue_id in ids} == set(ISSUES)


def _package_modules() -> list[Path]:
    return sorted(path for path in PACKAGE_DIR.rglob("*.py") if path != ISSUES_MODULE)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, also the literal parts of f-strings."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_issue_ids_are_built_in_issues_py_only() -> None:
    """No other module spells an issue id or creates or deletes an issue."""
    prefixes = tuple(issue.issue_id("") for issue in ISSUES)
    found = []
    for path in _package_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE_DIR)
        found += [
            f"{where}:{line}: {value!r}"
            for line, value in _strings(tree)
            if value.startswith(prefixes)
        ]
        found += [
            f"{where}:{node.lineno}: {node.func.attr}()"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"async_create_issue", "async_delete_issue"}
        ]
    assert not found


def test_the_source_check_sees_a_hand_built_id() -> None:
    """The literal scan catches an f-string id and a plain one."""
    tree = ast.parse(
        'a = f"site_unavailable_{site_id}"\nb = "rate_limited_" + entry_id\n'
    )
    prefixes = tuple(issue.issue_id("") for issue in ISSUES)
    assert [value for _, value in _strings(tree) if value.startswith(prefixes)] == [
        "site_unavailable_",
        "rate_limited_",
    ]

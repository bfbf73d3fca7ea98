"""Actions, icons and the quality scale by hassfest's rules for custom integrations.

hassfest (Home Assistant core's ``script/hassfest``: services.py, icons.py,
quality_scale.py) runs on GitHub (.github/workflows/hassfest.yml); these
tests hold the same rules offline, and the ones hassfest applies only to
core integrations (every action and field named and described in en.json,
every action with an icon) as well.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.util.yaml import load_yaml_dict
import pytest
import voluptuous as vol

from custom_components.powerwall_fleet.actions import async_setup_actions
from custom_components.powerwall_fleet.const import DOMAIN

from .source_resolve import Scanner

INTEGRATION_DIR = Path(__file__).resolve().parent.parent / "custom_components" / DOMAIN

# The rules script/hassfest/quality_scale.py knows (ALL_RULES, home-assistant/core
# 2026: docs-conditions and docs-triggers joined the bronze tier).
HASSFEST_QUALITY_RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}


def _json(name: str) -> dict[str, Any]:
    return json.loads((INTEGRATION_DIR / name).read_text(encoding="utf-8"))


def _yaml(name: str) -> dict[str, Any]:
    return load_yaml_dict(str(INTEGRATION_DIR / name))


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        return [
            leaf for key, value in tree.items() for leaf in _leaves(value, (*path, key))
        ]
    return [(path, tree)]


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    """translations/en.json."""
    return _json("translations/en.json")


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    """The integration's source, parsed."""
    return Scanner(INTEGRATION_DIR, f"custom_components.{DOMAIN}")


# ---------------------------------------------------------------- actions


def _registered_actions(scanner: Scanner) -> set[str]:
    """Action names passed to hass.services.async_register, read from the source."""
    found: set[str] = set()
    for node, ctx in scanner.nodes():
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "async_register"
            and len(node.args) >= 2
        ):
            found.update(scanner.strings(node.args[1], ctx))
    return found


async def test_actions_match_services_yaml(
    hass: HomeAssistant, scanner: Scanner
) -> None:
    """services.yaml describes exactly the actions registered, with their schema's fields."""
    services = _yaml("services.yaml")
    assert sorted(_registered_actions(scanner)) == sorted(services)
    async_setup_actions(hass)
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert sorted(registered) == sorted(services)
    for action, service in registered.items():
        schema = service.schema
        assert isinstance(schema, vol.Schema), action
        fields = {str(key) for key in schema.schema}
        assert sorted(fields) == sorted((services[action] or {}).get("fields", {})), (
            action
        )


def _action_problems(
    action: str, spec: dict[str, Any] | None, text: dict[str, Any], icon: Any
) -> list[str]:
    fields = (spec or {}).get("fields", {})
    problems = [
        f"services.{action}.{key} missing"
        for key in ("name", "description")
        if not text.get(key)
    ]
    if not isinstance(icon, dict) or not str(icon.get("service", "")).startswith(
        "mdi:"
    ):
        problems.append(f"icons.json services.{action}.service missing")
    problems += [
        f"services.{action}.fields.{field}.{key} missing"
        for field in fields
        for key in ("name", "description")
        if not text.get("fields", {}).get(field, {}).get(key)
    ]
    problems += [
        f"services.{action}.fields.{field} is not in services.yaml"
        for field in text.get("fields", {})
        if field not in fields
    ]
    return problems


def test_actions_named_described_and_iconed(strings: dict[str, Any]) -> None:
    """Every action and field named and described, every action with an icon.

    hassfest asks this of core integrations; custom ones should meet it too.
    en.json and icons.json describe no action or field services.yaml lacks.
    """
    services = _yaml("services.yaml")
    icons = _json("icons.json").get("services", {})
    translated = strings.get("services", {})
    problems = [
        problem
        for action, spec in services.items()
        for problem in _action_problems(
            action, spec, translated.get(action, {}), icons.get(action)
        )
    ]
    problems += [
        f"services.{action} is not in services.yaml"
        for action in set(translated) - set(services)
    ]
    problems += [
        f"icons.json services.{action} is not in services.yaml"
        for action in set(icons) - set(services)
    ]
    assert not problems, "\n".join(problems)


def test_services_yaml_follows_hassfest_schema() -> None:
    """Action keys are slugs; fields carry only what hassfest allows, with valid selectors."""

    services = _yaml("services.yaml")
    allowed = {
        "example",
        "default",
        "required",
        "advanced",
        "selector",
        "name",
        "description",
        "filter",
    }
    problems = []
    for action, spec in services.items():
        if cv.slug(action) != action:
            problems.append(f"{action}: not a slug")
        for field, info in ((spec or {}).get("fields") or {}).items():
            if extra := set(info) - allowed:
                problems.append(f"{action}.{field}: unknown keys {sorted(extra)}")
            if "selector" in info:
                try:
                    selector.validate_selector(info["selector"])
                except vol.Invalid as err:
                    problems.append(f"{action}.{field}: selector: {err}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- icons


def test_icons_follow_hassfest_rules(strings: dict[str, Any]) -> None:
    """Icons are mdi:, name translated entities and states, and differ from the default."""
    icons = _json("icons.json")
    problems = []
    if extra := set(icons) - {"entity", "services", "config", "options", "issues"}:
        problems.append(f"unknown sections {sorted(extra)}")
    for path, value in _leaves(icons):
        if not isinstance(value, str) or not value.startswith("mdi:"):
            problems.append(f"{'.'.join(path)}: {value!r} is not an mdi: icon")
    for platform, entities in icons.get("entity", {}).items():
        for key, icon in entities.items():
            text = strings.get("entity", {}).get(platform, {}).get(key)
            if text is None:
                problems.append(
                    f"icons entity.{platform}.{key}: no such translated entity"
                )
                continue
            for state, state_icon in icon.get("state", {}).items():
                if state not in text.get("state", {}) and platform not in {
                    "binary_sensor",
                    "switch",
                }:
                    problems.append(
                        f"icons entity.{platform}.{key}.state.{state}: no such state"
                    )
                if state_icon == icon.get("default"):
                    problems.append(
                        f"icons entity.{platform}.{key}.state.{state}: same as default"
                    )
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- quality scale


def test_quality_scale_lists_every_rule_hassfest_knows() -> None:
    """quality_scale.yaml lists each rule hassfest knows, and no other."""
    rules = _yaml("quality_scale.yaml")["rules"]
    known = [rule for tier in HASSFEST_QUALITY_RULES.values() for rule in tier]
    assert sorted(set(known) - set(rules)) == [], "rules missing"
    assert sorted(set(rules) - set(known)) == [], "rules hassfest does not know"


def test_quality_scale_follows_hassfest_schema() -> None:
    """todo/done, or a status with a comment; exempt always says why."""
    problems = []
    for rule, value in _yaml("quality_scale.yaml")["rules"].items():
        if isinstance(value, str):
            if value not in {"todo", "done"}:
                problems.append(f"{rule}: {value!r}")
        elif isinstance(value, dict):
            if set(value) - {"status", "comment"}:
                problems.append(f"{rule}: unknown keys {sorted(value)}")
            if value.get("status") not in {"todo", "done", "exempt"}:
                problems.append(f"{rule}: status {value.get('status')!r}")
            if value.get("status") == "exempt" and not value.get("comment"):
                problems.append(f"{rule}: exempt without a comment")
        else:
            problems.append(f"{rule}: {value!r}")
    assert not problems, "\n".join(problems)


def test_exempt_docs_rules_stay_true() -> None:
    """docs-conditions and docs-triggers are exempt because there are none to document."""
    rules = _yaml("quality_scale.yaml")["rules"]
    provided = sorted(
        path.name
        for pattern in ("*condition*", "*trigger*")
        for path in INTEGRATION_DIR.glob(pattern)
    )
    for rule in ("docs-conditions", "docs-triggers"):
        if isinstance(rules[rule], dict) and rules[rule]["status"] == "exempt":
            assert provided == [], (
                f"{rule} is exempt, but the integration has {provided}"
            )

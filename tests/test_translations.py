"""Translations, actions, icons and quality scale by hassfest's rules for custom integrations.

hassfest (Home Assistant core's ``script/hassfest``) runs on GitHub
(.github/workflows/hassfest.yml), not here; these tests hold the same rules
offline and add what hassfest cannot see: which keys the code really uses
(tests/translation_usage.py reads them from the source) against what
translations/en.json holds, in both directions, with their placeholders.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

from homeassistant import config_entries
from homeassistant.helpers import config_entry_oauth2_flow, config_validation as cv
from homeassistant.util.yaml import load_yaml_dict
import pytest
import voluptuous as vol

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.repairs import FIX_FLOWS

from .source_index import Placeholders, placeholders_in
from .source_resolve import Scanner
from .translation_usage import Use, framework_defaults, scan

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / DOMAIN
PACKAGE = f"custom_components.{DOMAIN}"

# hassfest's rules for a translation string (script/hassfest/translations.py).
RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


# ------------------------------------------------------------------ loading


def _json(name: str) -> dict[str, Any]:
    return json.loads((INTEGRATION_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    """translations/en.json."""
    return _json("translations/en.json")


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    """The integration's source, parsed."""
    return Scanner(INTEGRATION_DIR, PACKAGE)


@pytest.fixture(scope="module")
def uses(scanner: Scanner) -> list[Use]:
    """Every key the code uses, and the ones Home Assistant's flow helpers use for it."""
    oauth = Scanner(Path(config_entry_oauth2_flow.__file__), "homeassistant.helpers")
    framework = [use for use in scan(oauth, framework=True) if use.path[0] == "config"]
    return [
        *scan(scanner),
        *framework,
        *framework_defaults(config_entries.ConfigFlow, scanner),
        *_service_selector_uses(),
    ]


def _service_selector_uses() -> Iterator[Use]:
    """Selectors in services.yaml whose options are translated (``translation_key``)."""

    def walk(node: Any, where: str) -> Iterator[Use]:
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "translation_key" and isinstance(value, str):
                    yield Use(("selector", value), None, where)
                else:
                    yield from walk(value, f"{where}.{name}")
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, where)

    actions = load_yaml_dict(str(INTEGRATION_DIR / "services.yaml"))
    yield from walk(actions, "services.yaml")


def _leaves(
    tree: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, tree


def _get(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _name(path: tuple[str, ...]) -> str:
    return ".".join(path)


# ------------------------------------------------------ hassfest's string rules


def _string_problem(value: Any, *, placeholders_allowed: bool = True) -> str | None:
    """What hassfest's ``validate_translation_value`` would refuse, or None."""
    if not isinstance(value, str):
        return f"not a string: {value!r}"
    if not value:
        return "empty string"
    try:
        cv.string_with_no_html(value)
    except vol.Invalid:
        return "contains HTML (hassfest refuses it; the frontend would swallow it as a tag)"
    if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value):
        return "placeholder inside single quotes"
    try:
        names = placeholders_in(value)
    except ValueError as err:
        return f"broken placeholder: {err}"
    if names and not placeholders_allowed:
        return "placeholders are not supported here"
    if any(not name.isidentifier() for name in names):
        return "placeholders must be valid identifiers"
    if "[%key:" in value:
        return (
            "[%key:...%] reference: Home Assistant resolves references only when it "
            "builds core's translations, a custom integration would show it raw"
        )
    if RE_COMBINED_REFERENCE.search(value):
        return "combined translation"
    if value != value.strip():
        return "leading or trailing spaces"
    if RE_URL.search(value):
        return "contains a URL: pass it as a placeholder"
    return None


def _no_placeholders_allowed(path: tuple[str, ...]) -> bool:
    """Entity states and state attributes take no placeholders (hassfest)."""
    return path[0] == "entity" and (
        "state" in path[3:] or "state_attributes" in path[3:]
    )


def test_strings_follow_hassfest_rules(strings: dict[str, Any]) -> None:
    """No HTML, no URLs, no stray spaces or references, placeholders well formed."""
    problems = [
        f"{_name(path)}: {problem}"
        for path, value in _leaves(strings)
        if (
            problem := _string_problem(
                value, placeholders_allowed=not _no_placeholders_allowed(path)
            )
        )
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Fine {name}, with `code` and 0-80 %.", None),
        ("From https://<domain>/x", "contains HTML"),
        ("Open <b>this</b>", "contains HTML"),
        ("See https://example.com/page", "contains a URL"),
        ("Value '{name}'", "placeholder inside single quotes"),
        ("trailing ", "leading or trailing spaces"),
        ("", "empty string"),
        ("[%key:common::config_flow::abort::already_configured%]", "[%key:"),
        ("{bad-name}", "placeholders must be valid identifiers"),
    ],
)
def test_string_rules_catch_problems(value: str, problem: str | None) -> None:
    """The checks above refuse what hassfest refuses."""
    found = _string_problem(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def _key_problems(strings: dict[str, Any]) -> Iterator[str]:
    """Keys hassfest's schema would refuse (translation_key_validator, cv.slug)."""
    for platform, entities in strings.get("entity", {}).items():
        if cv.slug(platform) != platform:
            yield f"entity.{platform}: not a slug"
        for key, entity in entities.items():
            yield from _keys(f"entity.{platform}", [key])
            yield from _keys(f"entity.{platform}.{key}.state", entity.get("state", {}))
            for attribute, info in entity.get("state_attributes", {}).items():
                yield from _keys(
                    f"entity.{platform}.{key}.state_attributes", [attribute]
                )
                yield from _keys(
                    f"entity.{platform}.{key}.state_attributes.{attribute}.state",
                    info.get("state", {}),
                )
    for key in strings.get("exceptions", {}):
        if cv.slug(key) != key:
            yield f"exceptions.{key}: not a slug"
    for action, info in strings.get("services", {}).items():
        yield from _keys("services", [action])
        yield from _keys(f"services.{action}.fields", info.get("fields", {}))
    for name, selector in strings.get("selector", {}).items():
        yield from _keys(f"selector.{name}.options", selector.get("options", {}))


def _keys(where: str, keys: Any) -> Iterator[str]:
    for key in keys:
        if RE_TRANSLATION_KEY.match(key) is None:
            yield f"{where}.{key}: need [a-z0-9-_]+, not starting or ending with - or _"


def test_keys_follow_hassfest_rules(strings: dict[str, Any]) -> None:
    """Lowercase snake keys where hassfest wants them."""
    problems = list(_key_problems(strings))
    assert not problems, "\n".join(problems)


# What hassfest's strings schema allows (it refuses any other key).
TOP_LEVEL = {
    "title",
    "config",
    "config_subentries",
    "options",
    "preview_features",
    "selector",
    "device_automation",
    "system_health",
    "config_panel",
    "application_credentials",
    "issues",
    "entity_component",
    "device",
    "entity",
    "exceptions",
    "services",
    "conditions",
    "triggers",
    "conversation",
    "common",
}
ENTRY_KEYS: dict[tuple[str, ...], set[str]] = {
    ("entity", "*", "*"): {"name", "state", "state_attributes", "unit_of_measurement"},
    ("entity", "*", "*", "state_attributes", "*"): {"name", "state"},
    ("exceptions", "*"): {"message"},
    ("issues", "*"): {"title", "description", "fix_flow"},
    ("services", "*"): {"name", "description", "fields", "sections"},
    ("services", "*", "fields", "*"): {"name", "description", "example"},
    ("selector", "*"): {"options", "choices", "unit_of_measurement", "fields"},
    ("application_credentials",): {"description"},
    ("device", "*"): {"name"},
}


def _entries(tree: Any, pattern: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """The dicts at ``pattern`` (``*``: any key), with their dotted path."""

    def walk(
        node: Any, rest: tuple[str, ...], path: tuple[str, ...]
    ) -> Iterator[tuple[str, Any]]:
        if not rest:
            yield _name(path), node
            return
        if not isinstance(node, dict):
            return
        keys = list(node) if rest[0] == "*" else [rest[0]] if rest[0] in node else []
        for key in keys:
            yield from walk(node[key], rest[1:], (*path, key))

    yield from walk(tree, pattern, ())


def test_sections_follow_hassfest_schema(strings: dict[str, Any]) -> None:
    """Only the sections and keys hassfest's schema knows."""
    problems = [f"{key}: unknown section" for key in set(strings) - TOP_LEVEL]
    for pattern, allowed in ENTRY_KEYS.items():
        for path, entry in _entries(strings, pattern):
            if not isinstance(entry, dict):
                problems.append(f"{path}: not an object")
            elif extra := set(entry) - allowed:
                problems.append(f"{path}: unknown keys {sorted(extra)}")
    assert not problems, "\n".join(problems)


def test_flow_steps_follow_hassfest_rules(strings: dict[str, Any]) -> None:
    """Steps hold only what hassfest knows; every data_description names a data field."""
    allowed = {
        "title",
        "description",
        "data",
        "data_description",
        "menu_options",
        "menu_option_descriptions",
        "submit",
        "sections",
    }
    flows = [
        ("config", strings.get("config", {})),
        ("options", strings.get("options", {})),
    ]
    flows += [
        (f"issues.{key}.fix_flow", issue["fix_flow"])
        for key, issue in strings.get("issues", {}).items()
        if "fix_flow" in issue
    ]
    problems = []
    for name, flow in flows:
        unknown = set(flow) - {"step", "error", "abort", "progress", "create_entry"}
        if unknown:
            problems.append(f"{name}: unknown keys {sorted(unknown)}")
        for step_id, step in flow.get("step", {}).items():
            if extra := set(step) - allowed:
                problems.append(f"{name}.step.{step_id}: unknown keys {sorted(extra)}")
            problems += [
                f"{name}.step.{step_id}.data_description.{field} is not in data"
                for field in step.get("data_description", {})
                if field not in step.get("data", {})
            ]
    assert not problems, "\n".join(problems)


# -------------------------------------------------------------- repair issues


def test_issues_have_description_or_fix_flow(
    strings: dict[str, Any], uses: list[Use]
) -> None:
    """hassfest: an issue has a title and exactly one of description and fix_flow.

    A fixable issue (is_fixable=True where the code raises it) needs the fix
    flow; one that is not fixable needs the description.
    """
    fixable = {use.path[1]: use.fixable for use in uses if use.path[0] == "issues"}
    problems = []
    for key, issue in strings.get("issues", {}).items():
        if "title" not in issue:
            problems.append(f"issues.{key}: no title")
        if ("description" in issue) == ("fix_flow" in issue):
            problems.append(
                f"issues.{key}: needs description or fix_flow, not both/none"
            )
        if fixable.get(key) and "fix_flow" not in issue:
            problems.append(f"issues.{key}: raised fixable but has no fix_flow")
        if fixable.get(key) is False and "description" not in issue:
            problems.append(f"issues.{key}: raised not fixable but has no description")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------ keys used by the code


def _fix_flow_issues(use: Use) -> list[str]:
    """The issues whose fix flow (repairs.FIX_FLOWS) can show a step or abort of the code.

    A step written in a class is shown by every flow that derives from it (an
    override may still call it through ``super()``).
    """
    found = [
        issue.translation_key
        for issue, flow in FIX_FLOWS.items()
        if use.cls in {cls.__name__ for cls in flow.__mro__}
    ]
    assert found, f"{use.where}: no fix flow of repairs.FIX_FLOWS shows this"
    return found


def _expected_paths(uses: list[Use]) -> dict[tuple[str, ...], Use]:
    """en.json paths the code needs, with one use that needs it."""
    needed: dict[tuple[str, ...], Use] = {}
    for use in uses:
        if use.path[0] == "repairs":
            for issue in _fix_flow_issues(use):
                needed.setdefault(("issues", issue, "fix_flow", *use.path[1:]), use)
        elif not (use.framework and use.path[1] == "step"):
            needed.setdefault(use.path, use)
    return needed


def test_every_used_key_exists(strings: dict[str, Any], uses: list[Use]) -> None:
    """Each key the code (or Home Assistant's flow helpers for it) uses has a text."""
    missing = [
        f"{_name(path)} (used at {use.where})"
        for path, use in sorted(_expected_paths(uses).items())
        if _get(strings, path) is None
    ]
    assert not missing, "missing in translations/en.json:\n" + "\n".join(missing)


# The sections of en.json whose keys the code must use, at this depth.
USED_SECTIONS: list[tuple[str, ...]] = [
    ("config", "step"),
    ("config", "error"),
    ("config", "abort"),
    ("options", "step"),
    ("options", "error"),
    ("options", "abort"),
    ("exceptions",),
    ("issues",),
    ("selector",),
]


def _defined_paths(strings: dict[str, Any]) -> set[tuple[str, ...]]:
    defined = {
        (*section, key)
        for section in USED_SECTIONS
        for key in (_get(strings, section) or {})
    }
    for platform, entities in strings.get("entity", {}).items():
        defined |= {("entity", platform, key) for key in entities}
    for key, issue in strings.get("issues", {}).items():
        for step in issue.get("fix_flow", {}).get("step", {}):
            defined.add(("issues", key, "fix_flow", "step", step))
    if "application_credentials" in strings:
        defined |= {
            ("application_credentials", key)
            for key in strings["application_credentials"]
        }
    return defined


def test_every_key_is_used(strings: dict[str, Any], uses: list[Use]) -> None:
    """No text in en.json that nothing shows (a renamed key leaves one behind)."""
    used = set(_expected_paths(uses)) | {use.path for use in uses}
    unused = sorted(_defined_paths(strings) - used)
    assert not unused, "unused in translations/en.json:\n" + "\n".join(
        map(_name, unused)
    )


# ---------------------------------------------------------------- placeholders


def _texts(strings: dict[str, Any], path: tuple[str, ...]) -> dict[str, str]:
    """The strings a use shows: a step's title and description, or the message."""
    node = _get(strings, path)
    if isinstance(node, str):
        return {_name(path): node}
    if not isinstance(node, dict):
        return {}
    if path[0] == "exceptions":
        return {_name((*path, "message")): node.get("message", "")}
    if path[0] == "issues" and len(path) == 2:
        texts = {
            _name((*path, key)): node[key]
            for key in ("title", "description")
            if key in node
        }
        for step_id in node.get("fix_flow", {}).get("step", {}):
            texts |= _texts(strings, (*path, "fix_flow", "step", step_id))
        return texts
    return {
        _name((*path, key)): node[key]
        for key in ("title", "description")
        if isinstance(node.get(key), str)
    }


def _check_placeholders(
    texts: dict[str, str], passed: Placeholders | None, where: str, *, exact: bool
) -> list[str]:
    if passed is None:
        return []
    problems = []
    for name, text in texts.items():
        if (missing := placeholders_in(text) - passed.names) and passed.spread is None:
            problems.append(
                f"{name} needs {sorted(missing)}, {where} does not pass them"
            )
    wanted = set().union(*(placeholders_in(text) for text in texts.values()))
    checked = texts and exact and passed.exact and passed.spread is None
    if checked and (extra := passed.names - wanted):
        problems.append(f"{', '.join(texts)} use no {sorted(extra)}, passed at {where}")
    return problems


def test_placeholders_match(strings: dict[str, Any], uses: list[Use]) -> None:
    """Every placeholder of a string is filled where the code uses it.

    Exceptions and repair issues: the placeholders the code passes are exactly
    the string's (where the code passes a literal dict or keywords). Flow
    steps and aborts: each placeholder is passed at every use. Flow errors:
    each placeholder is among the step's description placeholders (the form
    shows errors with them).
    """
    problems: list[str] = []
    issue_placeholders: dict[str, set[str]] = {}
    for use in uses:
        if use.path[0] == "issues" and use.placeholders is not None:
            issue_placeholders.setdefault(use.path[1], set()).update(
                use.placeholders.names
            )
    steps_by_function: dict[tuple[str, str], set[str]] = {}
    for use in uses:
        if use.path[1:2] == ("step",) and use.placeholders is not None:
            key = (use.where.split(":")[0], use.function)
            steps_by_function.setdefault(key, set()).update(use.placeholders.names)
    for use in uses:
        exact = use.path[0] in {"exceptions", "issues"}
        if use.path[0] == "repairs":
            for issue in _fix_flow_issues(use):
                names = issue_placeholders[issue]
                path = ("issues", issue, "fix_flow", *use.path[1:])
                passed = use.placeholders
                if passed is not None and passed.spread is not None:
                    # {**issue.translation_placeholders}: the issue's own.
                    passed = Placeholders(passed.names | names, exact=False)
                problems += _check_placeholders(
                    _texts(strings, path), passed, use.where, exact=False
                )
        elif use.path[1:2] == ("error",):
            key = (use.where.split(":")[0], use.function)
            passed = Placeholders(frozenset(steps_by_function.get(key, set())))
            problems += _check_placeholders(
                _texts(strings, use.path), passed, use.where, exact=False
            )
        else:
            problems += _check_placeholders(
                _texts(strings, use.path), use.placeholders, use.where, exact=exact
            )
    assert not problems, "\n".join(sorted(set(problems)))


def test_entity_names_take_no_placeholders(
    strings: dict[str, Any], uses: list[Use]
) -> None:
    """The code passes no translation_placeholders to entities, so names have none."""
    problems = [
        f"{_name(path)}: {sorted(placeholders_in(value))}"
        for path, value in _leaves(strings.get("entity", {}), ("entity",))
        if isinstance(value, str) and placeholders_in(value)
    ]
    assert not problems, "\n".join(problems)

"""Checks on the repository itself: manifest, HACS metadata, licence, workflows, client isolation."""

import ast
import json
from pathlib import Path
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.util.yaml import load_yaml_dict
import pytest

from custom_components.powerwall_fleet.const import DOMAIN

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / DOMAIN
FLEET_DIR = INTEGRATION_DIR / "fleet"
FLEET_PACKAGE = f"custom_components.{DOMAIN}.fleet"

OLDEST_HOME_ASSISTANT = "2026.3.0"


def _manifest() -> dict[str, object]:
    return json.loads((INTEGRATION_DIR / "manifest.json").read_text(encoding="utf-8"))


async def test_loader_finds_integration(hass: HomeAssistant) -> None:
    """Home Assistant's loader finds our integration with the expected manifest."""
    integration = await async_get_integration(hass, DOMAIN)

    assert not integration.is_built_in
    assert await hass.async_add_executor_job(integration.file_path.resolve) == (
        INTEGRATION_DIR
    )
    assert integration.domain == DOMAIN
    assert integration.name == "Tesla Powerwall (Fleet API)"
    assert integration.manifest["iot_class"] == "cloud_polling"
    assert integration.manifest["integration_type"] == "hub"
    assert integration.dependencies == ["application_credentials", "http"]
    assert integration.version == AwesomeVersion("0.1.0")


def test_manifest_key_order() -> None:
    """manifest.json lists domain, name, then the other keys alphabetically."""
    keys = list(_manifest())

    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_no_requirements() -> None:
    """Everything we use ships with Home Assistant: nothing to pin or install."""
    assert _manifest()["requirements"] == []


def test_hacs_minimum_home_assistant() -> None:
    """hacs.json declares the oldest supported release, and we run on a newer one."""
    hacs = json.loads((REPO_ROOT / "hacs.json").read_text(encoding="utf-8"))

    assert hacs["homeassistant"] == OLDEST_HOME_ASSISTANT
    assert AwesomeVersion(ha_version) >= AwesomeVersion(hacs["homeassistant"])


def _forbidden_imports(
    source: str, module: str, *, is_package: bool = False
) -> list[str]:
    """List the imports in one client module that reach Home Assistant or the integration.

    Relative imports are resolved against the module's package, so
    `from .. import const` inside the client counts as importing the integration.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]

    imported: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *([name] if name else [])])
            imported.append((node.lineno, name))

    problems = []
    for lineno, name in imported:
        top = name.partition(".")[0]
        in_client = name == FLEET_PACKAGE or name.startswith(f"{FLEET_PACKAGE}.")
        if top == "homeassistant" or (top == "custom_components" and not in_client):
            problems.append(f"line {lineno} imports {name}")
    return problems


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import aiohttp\nfrom .errors import FleetError\nfrom . import models", []),
        (f"from {FLEET_PACKAGE}.models import Site", []),
        ("import homeassistant", ["line 1 imports homeassistant"]),
        (
            "import json\nfrom homeassistant.core import HomeAssistant",
            ["line 2 imports homeassistant.core"],
        ),
        (
            "def f():\n    import homeassistant.util.dt as dt_util",
            ["line 2 imports homeassistant.util.dt"],
        ),
        ("from .. import const", [f"line 1 imports custom_components.{DOMAIN}"]),
        (
            "from ..const import DOMAIN",
            [f"line 1 imports custom_components.{DOMAIN}.const"],
        ),
    ],
)
def test_import_scan(source: str, expected: list[str]) -> None:
    """The scan below recognises imports that would pull in Home Assistant."""
    assert _forbidden_imports(source, f"{FLEET_PACKAGE}.client") == expected


def test_fleet_client_does_not_import_home_assistant() -> None:
    """The Fleet API client (fleet/) stays usable without Home Assistant."""
    assert FLEET_DIR.is_dir(), f"{FLEET_DIR.relative_to(REPO_ROOT)} is missing"
    sources = sorted(FLEET_DIR.rglob("*.py"))
    assert sources, f"no Python files in {FLEET_DIR.relative_to(REPO_ROOT)}"

    problems: list[str] = []
    for path in sources:
        relative = path.relative_to(REPO_ROOT)
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        problems.extend(
            f"{relative}: {problem}"
            for problem in _forbidden_imports(
                path.read_text(encoding="utf-8"),
                module,
                is_package=path.name == "__init__.py",
            )
        )

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_icons(name: str, size: int) -> None:
    """HA 2026.3+ and HACS read the brand icons from the integration folder."""
    data = (INTEGRATION_DIR / "brand" / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    assert (width, height) == (size, size)


# ------------------------------------------- hassfest's and HACS's metadata rules

# CUSTOM_INTEGRATION_MANIFEST_SCHEMA in core's script/hassfest/manifest.py.
HASSFEST_MANIFEST_KEYS = {
    "after_dependencies",
    "bluetooth",
    "codeowners",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "documentation",
    "domain",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "name",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "version",
    "zeroconf",
}
# HACS_MANIFEST_JSON_SCHEMA in hacs/integration (extra keys are refused).
HACS_JSON_KEYS = {
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
    "name",
}


def test_manifest_follows_hassfest_and_hacs_rules() -> None:
    """The keys hassfest knows for a custom integration, with the ones it and HACS require."""
    manifest = _manifest()

    assert set(manifest) <= HASSFEST_MANIFEST_KEYS
    assert manifest["domain"] == INTEGRATION_DIR.name
    for key in ("name", "documentation", "issue_tracker", "version"):
        assert isinstance(manifest[key], str), key
        assert manifest[key], key
    for key in ("documentation", "issue_tracker"):
        assert str(manifest[key]).startswith("https://"), key
    codeowners = manifest["codeowners"]
    assert isinstance(codeowners, list)
    assert codeowners
    assert all(str(owner).startswith("@") for owner in codeowners)
    assert manifest["iot_class"] in {
        "assumed_state",
        "calculated",
        "cloud_polling",
        "cloud_push",
        "local_polling",
        "local_push",
    }
    assert manifest["integration_type"] in {
        "device",
        "entity",
        "hardware",
        "helper",
        "hub",
        "service",
        "system",
    }
    # hassfest's verify_version: one of these version schemes.
    AwesomeVersion(
        str(manifest["version"]),
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )


def test_hacs_json_follows_hacs_schema() -> None:
    """Only keys HACS knows (it refuses others), a name, and a valid minimum version."""
    hacs = json.loads((REPO_ROOT / "hacs.json").read_text(encoding="utf-8"))

    assert set(hacs) <= HACS_JSON_KEYS
    assert isinstance(hacs["name"], str)
    assert hacs["name"]
    assert AwesomeVersion(hacs["homeassistant"]).valid
    for key in (
        "content_in_root",
        "hide_default_branch",
        "render_readme",
        "zip_release",
    ):
        assert isinstance(hacs.get(key, False), bool), key
    if hacs.get("zip_release"):
        assert hacs.get("filename"), "zip_release needs filename"


def test_licence() -> None:
    """HACS refuses a repository without a licence; the README names it."""
    licence = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")

    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 Powerwall Fleet contributors" in licence
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Licence" in readme
    assert "[LICENSE](LICENSE)" in readme


def _workflow_jobs() -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    for path in sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml")):
        workflow = load_yaml_dict(str(path))
        for name, job in workflow["jobs"].items():
            jobs[f"{path.name}:{name}"] = job
    return jobs


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def test_workflows_validate_and_test() -> None:
    """GitHub runs hassfest, HACS validation and the suite on newest and oldest HA.

    They run on GitHub, not in .ci/run; this keeps anyone from deleting them
    silently.
    """
    jobs = _workflow_jobs()

    def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
        return [s for s in _steps(job) if str(s.get("uses", "")).startswith(action)]

    assert any(
        uses(job, "home-assistant/actions/hassfest@") for job in jobs.values()
    ), "no job runs home-assistant/actions/hassfest"
    assert any(
        step.get("with", {}).get("category") == "integration"
        for job in jobs.values()
        for step in uses(job, "hacs/action@")
    ), "no job runs hacs/action with category: integration"
    suites = [
        job
        for job in jobs.values()
        if sorted(job.get("strategy", {}).get("matrix", {}).get("ha", []))
        == ["newest", "oldest"]
    ]
    assert suites, "no job with a matrix over the newest and oldest Home Assistant"
    for job in suites:
        assert uses(job, "actions/checkout@")
        python = uses(job, "actions/setup-python@")
        assert python
        assert str(python[0]["with"]["python-version"]) == "3.14"
        commands = " ".join(str(step.get("run", "")) for step in _steps(job))
        for script in ("scripts/setup", "scripts/lint", "scripts/test"):
            assert script in commands, script
        assert "--ha ${{ matrix.ha }}" in commands

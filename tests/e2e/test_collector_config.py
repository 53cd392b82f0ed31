"""The shipped collector config as a file: `otelcol validate` accepts it, its redaction rules are the ones
collector-config/generate.py writes from the SDK's detectors and cover every PII type on every field, the builder
manifest holds exactly its components, and every setting is an environment variable with a default that the
README and docker-compose.yaml agree on."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from typing import Any

import pytest
import yaml

from openrouter_otel.detectors import INFRASTRUCTURE_ADDRESS_KEYS, re2_rules
from openrouter_otel.redaction import BUILTIN_NAMES
from tests.e2e.services import COLLECTOR_CONFIG, REPO_ROOT, collector_binary

pytestmark = pytest.mark.e2e

CONFIG_DIR = COLLECTOR_CONFIG.parent
BUILDER_MANIFEST = CONFIG_DIR / "builder-config.yaml"
README = CONFIG_DIR / "README.md"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"

# Every string field the redaction stage must cover, per pipeline signal.
REDACTED_FIELDS = {
    "trace_statements": ("resource.attributes", "span.name", "span.attributes", "span.status.message",
                         "spanevent.name", "spanevent.attributes"),
    "log_statements": ("resource.attributes", "log.body", "log.attributes"),
    "metric_statements": ("resource.attributes", "datapoint.attributes"),
}
STATEMENT = re.compile(
    r'^replace_(?:all_)?patterns?\((?P<field>[a-z.]+), (?:"value", )?"(?P<regex>(?:[^"\\]|\\.)*)", '
    r'"(?:\$\$\{1\})?\[REDACTED:(?P<type>[A-Z0-9_]+)\]"\)$')
# Putting the infrastructure attributes aside before the address rules, and back after them.
KEEP_STATEMENT = re.compile(r'^set\((?P<target>[a-z.]+)\["(?P<key>[a-z._]+)"\], (?P<source>[a-z.]+)\["(?P=key)"\]\) '
                            r'where (?P=source)\["(?P=key)"\] != nil$')
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z0-9_]+)(:-[^}]*)?\}")


def config() -> dict[str, Any]:
    return yaml.safe_load(COLLECTOR_CONFIG.read_text())


def env_references() -> list[tuple[str, str]]:
    """(variable, ":-default") for every ${env:...} in the config, comments left out."""
    lines = [line for line in COLLECTOR_CONFIG.read_text().splitlines() if not line.lstrip().startswith("#")]
    return ENV_REFERENCE.findall("\n".join(lines))


def redaction_rules() -> dict[str, dict[str, dict[str, str]]]:
    """signal -> field -> type -> regex (as the regex engine sees it), from the transform/redact statements."""
    rules: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    transform = config()["processors"]["transform/redact"]
    for signal in REDACTED_FIELDS:
        for group in transform[signal]:
            for statement in group["statements"]:
                if KEEP_STATEMENT.match(statement):
                    continue
                match = STATEMENT.match(statement)
                assert match, f"not a redaction rule: {statement}"
                regex = re.sub(r"\\(.)", r"\1", match["regex"])  # OTTL string literal -> regex
                rules[signal][match["field"]][match["type"]] = regex
    return rules


def test_generated_redaction_rules_are_up_to_date():
    """collector-config/generate.py writes them from src/openrouter_otel/detectors.py: one source for both layers."""
    result = subprocess.run([sys.executable, str(CONFIG_DIR / "generate.py"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_are_the_detectors_re2_forms():
    rules = redaction_rules()["trace_statements"]["span.attributes"]
    assert rules == {name: rule.regex for name, rule in re2_rules().items()}


def test_every_attribute_map_keeps_the_infrastructure_keys_around_the_address_rules():
    transform = config()["processors"]["transform/redact"]
    for signal, groups in ((signal, transform[signal]) for signal in REDACTED_FIELDS):
        for group in groups:
            context = group["context"]
            kept = [KEEP_STATEMENT.match(statement) for statement in group["statements"]]
            stashed = {(m["source"], m["key"]) for m in kept if m and m["target"] == f"{context}.cache"}
            restored = {(m["target"], m["key"]) for m in kept if m and m["source"] == f"{context}.cache"}
            maps = {field for field in REDACTED_FIELDS[signal] if field.startswith(f"{context}.")
                    and field.endswith(".attributes")}
            expected = {(field, key) for field in maps for key in INFRASTRUCTURE_ADDRESS_KEYS}
            assert stashed == restored == expected, (signal, context)
    assert config()["processors"]["redaction"]["ignored_keys"] == list(INFRASTRUCTURE_ADDRESS_KEYS)


def test_shipped_config_passes_otelcol_validate():
    result = subprocess.run([collector_binary(), "validate", f"--config={COLLECTOR_CONFIG}"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_every_sdk_pii_type_has_a_rule_on_every_string_field():
    assert BUILTIN_NAMES, "the SDK's Redactor reports no detector names"
    for signal, fields in REDACTED_FIELDS.items():
        rules = redaction_rules()[signal]
        assert set(rules) == set(fields), signal
        for field in fields:
            assert set(rules[field]) == set(BUILTIN_NAMES), (signal, field)


def test_each_type_has_one_regex_in_one_order_everywhere():
    every_field = [rules for signal in redaction_rules().values() for rules in signal.values()]
    first = every_field[0]
    for rules in every_field:
        assert list(rules.items()) == list(first.items())


def test_rules_are_re2_and_the_redaction_processor_blocks_the_same_regexes():
    regexes = list(redaction_rules()["trace_statements"]["span.name"].values())
    for regex in regexes:
        assert not re.search(r"\(\?<?[=!]|\\[1-9]", regex), f"lookaround or backreference (not RE2): {regex}"
        re.compile(regex)
    assert config()["processors"]["redaction"]["blocked_values"] == regexes


def test_builder_manifest_lists_exactly_the_components_the_config_uses():
    shipped = config()
    used = {(kind, name.split("/")[0]) for kind in ("receivers", "processors", "exporters", "extensions")
            for name in shipped[kind]}
    manifest = yaml.safe_load(BUILDER_MANIFEST.read_text())
    built = {(kind, module["gomod"].split()[0].rsplit("/", 1)[1])
             for kind in ("receivers", "processors", "exporters", "extensions") for module in manifest[kind]}
    assert {(kind, module_name(kind, name)) for kind, name in used} == built
    pipelines = shipped["service"]["pipelines"].values()
    in_pipelines = {name for pipeline in pipelines for kind in ("receivers", "processors", "exporters")
                    for name in pipeline[kind]}
    defined = {name for kind in ("receivers", "processors", "exporters") for name in shipped[kind]}
    assert defined == in_pipelines
    assert set(shipped["service"]["extensions"]) == set(shipped["extensions"])


def module_name(kind: str, component: str) -> str:
    """The Go module a component type comes from: memory_limiter -> memorylimiterprocessor (file_storage is
    extension/storage/filestorage)."""
    name = component.replace("_", "")
    return name if name == "filestorage" else name + kind.rstrip("s")


def test_every_setting_is_an_environment_variable_with_a_default_documented_in_the_readme():
    references = env_references()
    assert references
    readme = README.read_text()
    for name, default in references:
        assert default, f"{name} has no default"
        assert f"`{name}`" in readme, f"{name} is not in collector-config/README.md"


def test_docker_compose_runs_the_shipped_config_with_its_variables():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    collector = services["otel-collector"]
    assert "./collector-config/otelcol.yaml:/etc/otelcol/otelcol.yaml:ro" in collector["volumes"]
    assert collector["command"] == ["--config=/etc/otelcol/otelcol.yaml"]
    known = {name for name, _ in env_references()}
    assert set(collector["environment"]) <= known
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", f"{name} is not pinned to a version: {service['image']}"
    release = yaml.safe_load(BUILDER_MANIFEST.read_text())["dist"]["version"]
    assert collector["image"].endswith(f":{release}"), "the compose collector is not the release the tests build"
    scrape = yaml.safe_load((CONFIG_DIR / "prometheus.yaml").read_text())["scrape_configs"][0]
    port = collector["environment"]["OTELCOL_PROMETHEUS_ENDPOINT"].rsplit(":", 1)[1]
    assert scrape["static_configs"][0]["targets"] == [f"otel-collector:{port}"] and scrape["honor_labels"]

"""The policy file: approved providers per data classification, allowed models per team, budgets.

Every call is checked when it ends (`PolicyChecker.check`, dictionary look-ups on attributes already computed:
microseconds, never the network); the ids of the rules it broke (`semconv.POLICY_RULES`) go on the span, the
audit record and the `openrouter.policy.violations` counter. Rules the caller can know before sending
(`semconv.PRE_SEND_RULES`) may be enforced, rule by rule (`enforce:` in the file): such a call raises
`PolicyViolation` before any byte leaves. Budgets are checked against running totals kept in this process,
per calendar hour, day and month in UTC: several processes each keep their own totals (the alert rules sum
them all).

A file that does not parse or does not validate is one warning naming the file and the line; the
instrumentation then runs with no policy. The file needs PyYAML (`pip install openrouter-otel[policy]`).
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Mapping

from openrouter_otel import semconv as sc

logger = logging.getLogger(__name__)

PERIODS = ("hour", "day", "month")


class PolicyViolation(Exception):
    """A call the policy's enforced rules forbid, raised before the request was sent. `rules`: the rule ids."""

    def __init__(self, rules: tuple[str, ...], source: str) -> None:
        self.rules = rules
        super().__init__(f"openrouter-otel: the call breaks enforced policy rule(s) {', '.join(rules)} of {source}; "
                         "it was not sent")


class PolicyError(ValueError):
    """The policy file is not valid: `str()` names the file and the line."""


@dataclass(frozen=True)
class Budget:
    """USD per calendar period (UTC); None: no budget for that period."""

    hour: float | None = None
    day: float | None = None
    month: float | None = None

    @cached_property
    def limits(self) -> tuple[tuple[str, float], ...]:
        return tuple((period, limit) for period in PERIODS if (limit := getattr(self, period)) is not None)


@dataclass(frozen=True)
class Classification:
    approved_providers: tuple[str, ...] | None = None  # in the file's order (dashboards show it)
    allow_fallbacks: bool = True
    require_zdr: bool = False
    require_data_collection_deny: bool = False
    allow_free_models: bool = True


@dataclass(frozen=True)
class Scope:
    """A team or a user: allowed models (glob patterns; None: any) and budget."""

    models: tuple[str, ...] | None = None
    budget: Budget = field(default_factory=Budget)


@dataclass(frozen=True)
class Policy:
    source: str
    approved_providers: tuple[str, ...] | None = None  # in the file's order (dashboards show it)
    classifications: Mapping[str, Classification] = field(default_factory=dict)
    teams: Mapping[str, Scope] = field(default_factory=dict)
    default_team: Scope = field(default_factory=Scope)
    users: Mapping[str, Scope] = field(default_factory=dict)
    default_user: Scope = field(default_factory=Scope)
    budget: Budget = field(default_factory=Budget)
    enforce: frozenset[str] = frozenset()

    def team(self, name: str | None) -> Scope:
        return self.teams.get(name, self.default_team) if name is not None else self.default_team

    def user(self, name: str | None) -> Scope:
        return self.users.get(name, self.default_user) if name is not None else self.default_user


# --- loading and validation -------------------------------------------------------------------------------

def load_policy(path: str) -> Policy:
    """The policy in `path`; raises PolicyError (naming the file and line) or OSError."""
    try:
        import yaml
    except ImportError:
        raise PolicyError(f"{path}: reading a policy file needs PyYAML (pip install openrouter-otel[policy])") from None
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if node is None:
        raise PolicyError(f"{path}:1: the policy file is empty")
    return _Reader(path, yaml).policy(node)


def policy_from_settings(policy_path: str | None) -> Policy | None:
    """The configured policy, or None (no policy, or one warning saying why it is not used)."""
    if not policy_path:
        return None
    try:
        return load_policy(policy_path)
    except PolicyError as exc:
        logger.warning("openrouter-otel: %s; calls are not checked against a policy", exc)
    except OSError as exc:
        logger.warning("openrouter-otel: cannot read the policy file %s (%s, from %s); calls are not checked "
                       "against a policy", policy_path, exc.strerror or exc, sc.ENV_POLICY)
    return None


_TOP_KEYS = ("version", "approved_providers", "classifications", "teams", "default_team", "users", "default_user",
             "budget", "enforce")
_CLASSIFICATION_KEYS = ("approved_providers", "allow_fallbacks", "require_zdr", "require_data_collection_deny",
                        "allow_free_models")


class _Reader:
    """Builds a Policy from the YAML node tree, so every error can name the line it is on."""

    def __init__(self, path: str, yaml: Any) -> None:
        self.path = path
        self.yaml = yaml

    def fail(self, node: Any, message: str) -> PolicyError:
        return PolicyError(f"{self.path}:{node.start_mark.line + 1}: {message}")

    def policy(self, node: Any) -> Policy:
        top = self.mapping(node, _TOP_KEYS, "the policy")
        if "version" in top and self.scalar(top["version"]) != 1:
            raise self.fail(top["version"], "unknown policy version (this package reads version: 1)")
        default_team = self.scope(top.get("default_team"), "default_team", Scope())
        default_user = self.scope(top.get("default_user"), "default_user", Scope())
        return Policy(
            source=self.path,
            approved_providers=self.names(top["approved_providers"]) if "approved_providers" in top else None,
            classifications={name: self.classification(value, name)
                             for name, value in self.entries(top.get("classifications"), "classifications")},
            teams={name: self.scope(value, f"team {name!r}", default_team)
                   for name, value in self.entries(top.get("teams"), "teams")},
            default_team=default_team,
            users={name: self.scope(value, f"user {name!r}", default_user)
                   for name, value in self.entries(top.get("users"), "users")},
            default_user=default_user,
            budget=self.budget(top.get("budget"), "budget"),
            enforce=self.enforce(top.get("enforce")),
        )

    def classification(self, node: Any, name: str) -> Classification:
        keys = self.mapping(node, _CLASSIFICATION_KEYS, f"classification {name!r}")
        flags = {key: self.flag(keys[key], key) for key in _CLASSIFICATION_KEYS[1:] if key in keys}
        providers = self.names(keys["approved_providers"]) if "approved_providers" in keys else None
        return Classification(approved_providers=providers, **flags)

    def scope(self, node: Any, what: str, default: Scope) -> Scope:
        """A team's or user's settings; what it does not set, it takes from the default team or user."""
        if node is None:
            return default
        keys = self.mapping(node, ("models", "budget"), what)
        models = self.names(keys["models"]) if "models" in keys else default.models
        return Scope(models=models, budget=self.budget(keys.get("budget"), f"the budget of {what}", default.budget))

    def budget(self, node: Any, what: str, default: Budget = Budget()) -> Budget:
        if node is None:
            return default
        keys = self.mapping(node, PERIODS, what)
        limits = {}
        for period, value in keys.items():
            usd = self.scalar(value)
            if isinstance(usd, bool) or not isinstance(usd, (int, float)) or usd < 0:
                raise self.fail(value, f"{what}: {period} must be a number of USD, 0 or more (got {value.value!r})")
            limits[period] = float(usd)
        return replace(default, **limits)

    def enforce(self, node: Any) -> frozenset[str]:
        if node is None:
            return frozenset()
        rules = set()
        for item in self.sequence(node, "enforce"):
            rule = self.scalar(item)
            if rule not in sc.PRE_SEND_RULES:
                known = ", ".join(sc.PRE_SEND_RULES)
                why = "is known only once the call ended" if rule in sc.POLICY_RULES else "is not a rule"
                raise self.fail(item, f"enforce: {rule!r} {why}; rules that can be enforced: {known}")
            rules.add(rule)
        return frozenset(rules)

    # -- node shapes --

    def mapping(self, node: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
        if not isinstance(node, self.yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        keys: dict[str, Any] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, self.yaml.ScalarNode) else None
            if name not in allowed:
                raise self.fail(key, f"{what}: unknown key {name!r}; known keys: {', '.join(allowed)}")
            if name in keys:
                raise self.fail(key, f"{what}: {name!r} given twice")
            keys[name] = value
        return keys

    def entries(self, node: Any, what: str) -> list[tuple[str, Any]]:
        """A mapping of free names (teams, users, classifications) to their settings."""
        if node is None:
            return []
        if not isinstance(node, self.yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of names to settings")
        for key, _ in node.value:
            if not isinstance(key, self.yaml.ScalarNode) or not key.value:
                raise self.fail(key, f"{what}: a name must be text")
        return [(key.value, value) for key, value in node.value]

    def sequence(self, node: Any, what: str) -> list[Any]:
        if not isinstance(node, self.yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def names(self, node: Any) -> tuple[str, ...]:
        values: list[str] = []
        for item in self.sequence(node, "a list of names"):
            value = self.scalar(item)
            if not isinstance(value, str) or not value:
                raise self.fail(item, f"expected a name, got {item.value!r}")
            if value not in values:
                values.append(value)
        return tuple(values)

    def flag(self, node: Any, what: str) -> bool:
        value = self.scalar(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false (got {getattr(node, 'value', node)!r})")
        return value

    def scalar(self, node: Any) -> Any:
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.fail(node, "expected a single value")
        loader = self.yaml.SafeLoader("")
        try:
            return loader.construct_object(node)
        finally:
            loader.dispose()


# --- checking ---------------------------------------------------------------------------------------------

def request_violations(policy: Policy, attributes: Mapping[str, Any]) -> list[str]:
    """The rules a call breaks by what it asked for (knowable before sending)."""
    broken = []
    models = _requested_models(attributes)
    allowed = policy.team(attributes.get(sc.OPENROUTER_TEAM)).models
    if allowed is not None and any(not _matches(model, allowed) for model in models):
        broken.append(sc.RULE_TEAM_MODEL)
    classification = policy.classifications.get(attributes.get(sc.OPENROUTER_CLASSIFICATION))
    if classification is None:
        return broken
    if not classification.allow_fallbacks and (
        attributes.get(sc.OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS) is not False
        or len(attributes.get(sc.OPENROUTER_REQUEST_MODELS) or ()) > 1
    ):
        broken.append(sc.RULE_FALLBACKS)
    if classification.require_zdr and attributes.get(sc.OPENROUTER_REQUEST_PROVIDER_ZDR) is not True:
        broken.append(sc.RULE_ZDR)
    if classification.require_data_collection_deny and \
            attributes.get(sc.OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION) != "deny":
        broken.append(sc.RULE_DATA_COLLECTION)
    if not classification.allow_free_models and any(_is_free(model) for model in models):
        broken.append(sc.RULE_FREE_MODEL)
    return broken


def served_violations(policy: Policy, attributes: Mapping[str, Any]) -> list[str]:
    """The rules a call broke by who served it (known once it ended)."""
    broken = []
    provider = attributes.get(sc.OPENROUTER_PROVIDER)
    classification = policy.classifications.get(attributes.get(sc.OPENROUTER_CLASSIFICATION))
    if isinstance(provider, str):
        if policy.approved_providers is not None and provider not in policy.approved_providers:
            broken.append(sc.RULE_PROVIDER)
        if classification is not None and classification.approved_providers is not None \
                and provider not in classification.approved_providers:
            broken.append(sc.RULE_CLASSIFICATION_PROVIDER)
    served = attributes.get(sc.GEN_AI_RESPONSE_MODEL)
    if classification is not None and not classification.allow_free_models and _is_free(served) \
            and not any(_is_free(model) for model in _requested_models(attributes)):
        broken.append(sc.RULE_FREE_MODEL)
    return broken


def _requested_models(attributes: Mapping[str, Any]) -> list[str]:
    model = attributes.get(sc.GEN_AI_REQUEST_MODEL)
    return [*([model] if isinstance(model, str) else []), *(attributes.get(sc.OPENROUTER_REQUEST_MODELS) or ())]


def _matches(model: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns)


def _is_free(model: Any) -> bool:
    return isinstance(model, str) and model.endswith(":free")


class BudgetTotals:
    """Spend per (scope, name) in the current calendar hour, day and month (UTC), in this process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._totals: dict[tuple[str, str, str], tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def add(self, scope: str, name: str, budget: Budget, usd: float) -> bool:
        """Add a call's cost; whether any period's total is now over the budget."""
        limits = budget.limits
        if not limits:
            return False
        now = self._clock()
        over = False
        with self._lock:
            for period, limit in limits:
                key, current = (scope, name, period), _period_of(now, period)
                started, total = self._totals.get(key, (current, 0.0))
                total = (total if started == current else 0.0) + usd
                self._totals[key] = (current, total)
                over = over or total > limit + 1e-12
        return over


def _period_of(now: float, period: str) -> Any:
    if period == "hour":
        return int(now // 3600)
    if period == "day":
        return int(now // 86400)
    moment = time.gmtime(now)
    return (moment.tm_year, moment.tm_mon)


class PolicyChecker:
    """Checks calls against one policy, counts violations; one per instrumentation."""

    def __init__(self, policy: Policy, counter: Any, team_label: Callable[[str], str]) -> None:
        self.policy = policy
        self.counter = counter
        self.team_label = team_label
        self.totals = BudgetTotals()

    def check(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The violations attribute of an ended call (empty when it broke nothing); counts them. Never raises."""
        try:
            return self._check(attributes)
        except Exception:
            logger.debug("openrouter-otel: could not check a call against the policy", exc_info=True)
            return {}

    def _check(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        broken = request_violations(self.policy, attributes) + served_violations(self.policy, attributes)
        broken += self._budget_violations(attributes)
        if not broken:
            return {}
        team = attributes.get(sc.OPENROUTER_TEAM)
        labels = {sc.OPENROUTER_TEAM: self.team_label(team)} if isinstance(team, str) else {}
        for rule in broken:
            self.counter.add(1, {sc.POLICY_RULE: rule, **labels})
        return {sc.OPENROUTER_POLICY_VIOLATIONS: tuple(broken)}

    def enforce(self, attributes: Mapping[str, Any]) -> None:
        """Raise PolicyViolation if the request breaks an enforced rule."""
        if not self.policy.enforce:
            return
        enforced = tuple(rule for rule in request_violations(self.policy, attributes) if rule in self.policy.enforce)
        if enforced:
            raise PolicyViolation(enforced, self.policy.source)

    def _budget_violations(self, attributes: Mapping[str, Any]) -> list[str]:
        usd = attributes.get(sc.GEN_AI_USAGE_COST)
        if not isinstance(usd, (int, float)) or isinstance(usd, bool) or usd <= 0:
            return []
        team, user = attributes.get(sc.OPENROUTER_TEAM), attributes.get(sc.ENDUSER_ID)
        policy, add = self.policy, self.totals.add
        broken = []
        if add("team", str(team or ""), policy.team(team).budget, usd):
            broken.append(sc.RULE_TEAM_BUDGET)
        if user is not None and add("user", str(user), policy.user(user).budget, usd):
            broken.append(sc.RULE_USER_BUDGET)
        if add("total", "", policy.budget, usd):
            broken.append(sc.RULE_TOTAL_BUDGET)
        return broken


def checker_from_settings(settings: Any, instruments: Any, team_label: Callable[[str], str]) -> PolicyChecker | None:
    policy = policy_from_settings(settings.policy)
    return PolicyChecker(policy, instruments.policy_violations, team_label) if policy is not None else None


def enforce(call: Any) -> None:
    """Called by the request wrappers before sending: raises PolicyViolation for an enforced rule."""
    checker = call.telemetry.policy
    if checker is not None:
        checker.enforce(call.request.attributes)

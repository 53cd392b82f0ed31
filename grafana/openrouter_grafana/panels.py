"""Dashboard JSON pieces: panels, queries, template variables and a layout that places panels on the grid.

Every panel reads from a datasource variable (`${datasource}` for Prometheus, `${loki_datasource}` for
Loki), never from a fixed datasource, and states the unit of what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openrouter_grafana.promql import CALLS, MODEL, PROVIDER, TEAM, selector

PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
LOKI = {"type": "loki", "uid": "${loki_datasource}"}
TEMPO_UID = "tempo"
GRID_WIDTH = 24


# ---- queries --------------------------------------------------------------------------------------


def prom(expr: str, legend: str = "__auto", *, instant: bool = False, exemplar: bool = False,
         table: bool = False) -> dict[str, Any]:
    return {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "instant": instant, "range": not instant,
            "exemplar": exemplar, "format": "table" if table else "time_series", "editorMode": "code"}


def loki(expr: str, legend: str = "", *, instant: bool = False) -> dict[str, Any]:
    return {"datasource": LOKI, "expr": expr, "legendFormat": legend, "queryType": "instant" if instant else "range",
            "editorMode": "code"}


# ---- panels ---------------------------------------------------------------------------------------


@dataclass
class Panel:
    """A panel before placement: its JSON without id and gridPos, and its size."""

    body: dict[str, Any]
    width: int = 12
    height: int = 8


def timeseries(title: str, description: str, unit: str, *targets: dict, width: int = 12, stack: bool = False,
               bars: bool = False, interval: str | None = None, decimals: int | None = None) -> Panel:
    custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 80 if bars else 10, "lineWidth": 1,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    options = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["mean", "max"]},
               "tooltip": {"mode": "multi", "sort": "desc"}}
    body = _panel("timeseries", title, description, unit, targets, custom=custom, options=options, decimals=decimals)
    if interval:
        body["interval"] = interval
    return Panel(body, width)


def stat(title: str, description: str, unit: str, *targets: dict, width: int = 6, decimals: int | None = None,
         time_from: str | None = None, red_from: float | None = None) -> Panel:
    """A single number; `red_from` turns it red from that value on."""
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "colorMode": "background" if red_from is not None else "value",
               "graphMode": "none", "justifyMode": "auto", "textMode": "auto", "orientation": "auto"}
    body = _panel("stat", title, description, unit, targets, options=options, decimals=decimals)
    if red_from is not None:
        body["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
        body["fieldConfig"]["defaults"]["thresholds"] = {
            "mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": red_from}]}
    if time_from:
        body["timeFrom"] = time_from
    return Panel(body, width, 4)


def bars(title: str, description: str, unit: str, *targets: dict, width: int = 8,
         time_from: str | None = None) -> Panel:
    """A horizontal bar gauge: one bar per series, for totals by model, provider, team."""
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "orientation": "horizontal", "displayMode": "basic", "showUnfilled": True, "valueMode": "color"}
    body = _panel("bargauge", title, description, unit, targets, options=options)
    if time_from:
        body["timeFrom"] = time_from
    return Panel(body, width)


def table(title: str, description: str, unit: str, *targets: dict, width: int = 12, height: int = 8,
          transformations: list[dict] | None = None, overrides: list[dict] | None = None) -> Panel:
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    body = _panel("table", title, description, unit, targets, options=options, overrides=overrides)
    body["transformations"] = transformations or []
    return Panel(body, width, height)


def row(title: str) -> Panel:
    return Panel({"type": "row", "title": title, "collapsed": False, "panels": []}, GRID_WIDTH, 1)


def _panel(kind: str, title: str, description: str, unit: str, targets: tuple[dict, ...] | list[dict], *,
           custom: dict | None = None, options: dict | None = None, decimals: int | None = None,
           overrides: list[dict] | None = None) -> dict[str, Any]:
    datasource = targets[0]["datasource"]
    defaults: dict[str, Any] = {"unit": unit, "color": {"mode": "palette-classic"}}
    if custom:
        defaults["custom"] = custom
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": datasource,
        "targets": [{**target, "refId": chr(ord("A") + index)} for index, target in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }


def trace_link(field_name: str) -> dict:
    """An override that turns a trace-id column into a link opening the trace in the provisioned Tempo."""
    link = {"title": "Open trace in Tempo", "url": "",
            "internal": {"datasourceUid": TEMPO_UID, "datasourceName": "Tempo",
                         "query": {"queryType": "traceql", "query": "${__value.raw}"}}}
    return {"matcher": {"id": "byName", "options": field_name}, "properties": [{"id": "links", "value": [link]}]}


def unit_override(field_name: str, unit: str) -> dict:
    return {"matcher": {"id": "byName", "options": field_name}, "properties": [{"id": "unit", "value": unit}]}


# ---- layout ---------------------------------------------------------------------------------------


@dataclass
class Layout:
    """Places panels left to right, wrapping at the grid's width; a row starts a new line."""

    panels: list[dict] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, *panels: Panel) -> Layout:
        for panel in panels:
            if panel.body["type"] == "row" or self.x + panel.width > GRID_WIDTH:
                self._new_line()
            self.panels.append({**panel.body, "id": len(self.panels) + 1,
                                "gridPos": {"h": panel.height, "w": panel.width, "x": self.x, "y": self.y}})
            self.x += panel.width
            self.line_height = max(self.line_height, panel.height)
            if panel.body["type"] == "row":
                self._new_line()
        return self

    def _new_line(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x, self.line_height = 0, 0


# ---- template variables ---------------------------------------------------------------------------


def datasource_variable(name: str, kind: str, label: str, default_uid: str) -> dict:
    return {"name": name, "label": label, "type": "datasource", "query": kind, "regex": "", "hide": 0,
            "refresh": 1, "includeAll": False, "multi": False,
            "current": {"text": label, "value": default_uid}, "options": []}


def label_variable(name: str, label: str, prom_label: str) -> dict:
    """A multi-value variable over the values a label takes on the call counter, `All` matching anything."""
    query = f"label_values({selector(CALLS)}, {prom_label})"
    return {"name": name, "label": label, "type": "query", "datasource": PROMETHEUS, "query": query,
            "definition": query, "regex": "", "hide": 0, "refresh": 2, "sort": 1, "includeAll": True, "multi": True,
            "allValue": ".*", "current": {"text": ["All"], "value": ["$__all"]}, "options": []}


def textbox_variable(name: str, label: str, default: str, description: str) -> dict:
    return {"name": name, "label": label, "type": "textbox", "query": default, "description": description,
            "hide": 0, "current": {"text": default, "value": default}, "options": [{"selected": True,
                                                                                     "text": default,
                                                                                     "value": default}]}


def standard_variables(with_loki: bool) -> list[dict]:
    variables = [datasource_variable("datasource", "prometheus", "Prometheus", "prometheus")]
    if with_loki:
        variables.append(datasource_variable("loki_datasource", "loki", "Loki", "loki"))
    variables += [label_variable("model", "Model (requested)", MODEL),
                  label_variable("provider", "Upstream provider", PROVIDER),
                  label_variable("team", "Team", TEAM)]
    return variables


# ---- dashboard ------------------------------------------------------------------------------------

SCHEMA_VERSION = 41  # Grafana 12.x; Grafana 13 migrates it to 42 on load, while 12.x rejects a newer one
TAG = "openrouter-otel"


def dashboard(uid: str, title: str, description: str, layout: Layout, variables: list[dict]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG, "llm", "opentelemetry"],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [{"title": "OpenRouter dashboards", "type": "dashboards", "tags": [TAG], "asDropdown": True,
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False}],
        "templating": {"list": variables},
        "panels": layout.panels,
    }

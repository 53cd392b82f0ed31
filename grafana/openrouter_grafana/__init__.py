"""Builds the Grafana dashboards and alert rules of openrouter-otel from grafana/thresholds.yaml.

`python grafana/generate.py` writes the files Grafana provisions; the test suite checks they are current.
Metric and attribute names come from `openrouter_otel.semconv`, never spelled here.
"""

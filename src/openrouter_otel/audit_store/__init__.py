"""The embedded audit store: every `openrouter.audit` record in an append-only, hash-chained SQLite table.

`store.py` keeps the table, `chain.py` the hashes, `rows.py` turns a record into a row, `exporter.py` and
`setup.py` attach it to an SDK logger provider (SDK-only), `importer.py` reads the collector's trail,
`report.py` and `verify.py` serve the auditor, `commands.py` is `openrouter-otel audit`.
"""

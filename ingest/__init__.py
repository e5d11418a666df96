"""Ingest: data coming in from outside — CSV files (the upload page, `manage.py import_csv`) and
the metrics API — checked whole and loaded all-or-nothing.

The fourth floor of the house (docs/development.md): it imports only the kernel
(`csworkbench.core`), `accounts` and `health`, whose tables it fills; its own models, ApiToken
and ImportJob, live in `accounts`. Nothing below it imports it.

Bottom to top:
- `cells`: the limits and parsers of one cell, the lookups a file's rows may refer to, and the
  metric fields shared with the API.
- `writes`: counts and batches, the metric upserts, the PostgreSQL COPY stream and metric stage.
- `columns`: each kind of file — its columns, key and loader (`kind_spec`).
- `checking`: the header and row checks, and the fast path of a PostgreSQL metrics file.
- `load`: `load_csv` (check, then write in one transaction with its audit row) and `preview_csv`.
- `api`: the metrics API's row checks and upsert; `api_views`, `api_urls` and `tokens` serve it.
- `jobs`: the upload page's import jobs, run by `tasks.run_import`; `views` and `urls` are the page.
"""

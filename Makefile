# The front door. `make demo` and `make test` are the README's promise; keep both working.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?= -n 2
# The port reaches the settings too (SITE_URL, the links in emails), also as `make demo PORT=8101`.
export PORT

.PHONY: demo test lint format run worker beat serve messages compile venv clean bench loadtest

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## demo: the app on SQLite with demo data at http://127.0.0.1:$(PORT) (a second run reuses the data)
demo: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## test: lint, migrations check, catalogue check and the test suite (DATABASE_URL picks the database)
test: venv lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## messages: refresh the catalogues after changing strings, then translate and run `make compile`
messages: venv
	$(PY) manage.py makemessages --locale zh_Hant --locale zh_Hans --no-obsolete --ignore ".venv/*" --ignore "staticfiles/*" --ignore "tests/*"

compile: venv
	$(PY) manage.py compilemessages --ignore ".venv/*"

## run / worker / beat: the production processes, one per terminal (see README)
run: venv
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

worker: venv
	$(VENV)/bin/celery -A csworkbench worker --loglevel INFO

beat: venv
	$(VENV)/bin/celery -A csworkbench beat --loglevel INFO

## serve: the production path here (gunicorn + worker + beat, DEBUG off) on PostgreSQL and Redis
serve: venv
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$CELERY_BROKER_URL" ]; then \
	  echo "make serve needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis), e.g."; \
	  echo "  DATABASE_URL=postgres://cs:secret@127.0.0.1:5432/csworkbench CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make serve"; \
	  exit 2; fi
	VENV=$(VENV) PORT=$(PORT) scripts/serve.sh

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

## bench: build (or reuse) 50,000 accounts × 365 days on PostgreSQL and print the health figures,
## then the pages at 1,000, 10,000 and 50,000 accounts (BENCH_ARGS="--only pages" for the pages alone)
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/csworkbench_bench
bench: venv
	$(PY) -c "import psycopg, sys; from urllib.parse import urlsplit; u = urlsplit(sys.argv[1]); \
	c = psycopg.connect(sys.argv[1].replace(u.path, '/postgres'), autocommit=True); \
	c.execute('CREATE DATABASE ' + u.path.lstrip('/')) if not c.execute('SELECT 1 FROM pg_database WHERE datname = %s', [u.path.lstrip('/')]).fetchone() else None" "$(BENCH_DATABASE_URL)"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench $(BENCH_ARGS)

## loadtest: gunicorn on 127.0.0.1 against the bench database, 50 users by role for 60 s (run `make bench` first)
loadtest: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) VENV=$(VENV) scripts/loadtest.sh

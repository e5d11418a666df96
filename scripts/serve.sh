#!/usr/bin/env bash
# The production path on this machine: migrate, collect static files, then gunicorn (web, with
# whitenoise serving /static/), a Celery worker and Celery beat, with DEBUG off. Ctrl-C (or a
# TERM) stops all three together; if one of them dies, the others are stopped too.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ] || [ -z "${CELERY_BROKER_URL:-}" ]; then
  echo "serve: DATABASE_URL and CELERY_BROKER_URL must both be set, for example" >&2
  echo "  DATABASE_URL=postgres://cs:secret@127.0.0.1:5432/csworkbench \\" >&2
  echo "  CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make serve" >&2
  exit 2
fi
case "$DATABASE_URL" in
  postgres://* | postgresql://* | pgsql://*) ;;
  *) echo "serve: DATABASE_URL must point at PostgreSQL (got ${DATABASE_URL%%://*}://…)" >&2; exit 2 ;;
esac

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
PORT="${PORT:-8000}"
export DEBUG=0
# Plain HTTP on the loopback: no redirect to HTTPS. Behind a TLS proxy set SECURE_SSL_REDIRECT=1.
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-0}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
if [ -z "${SECRET_KEY:-}" ]; then
  echo "serve: SECRET_KEY is not set; using a random key for this run (logins end when it stops)" >&2
  SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  export SECRET_KEY
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput -v 0

pids=()
stop() {
  trap - INT TERM EXIT
  echo "serve: stopping" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$VENV/bin/gunicorn" csworkbench.wsgi --bind "127.0.0.1:$PORT" --workers "${WEB_CONCURRENCY:-3}" \
  --access-logfile - &
pids+=("$!")
"$VENV/bin/celery" -A csworkbench worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-2}" &
pids+=("$!")
"$VENV/bin/celery" -A csworkbench beat --loglevel INFO \
  --schedule "${CELERY_BEAT_SCHEDULE_FILE:-${TMPDIR:-/tmp}/csworkbench-celerybeat-schedule}" &
pids+=("$!")
echo "serve: http://127.0.0.1:$PORT (web ${pids[0]}, worker ${pids[1]}, beat ${pids[2]}); Ctrl-C stops all" >&2

# Whichever process ends first (a crash, or a signal) brings the others down with it.
set +e
wait -n "${pids[@]}"
status=$?
exit "$status"

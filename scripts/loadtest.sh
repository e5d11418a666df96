#!/usr/bin/env bash
# `make loadtest`: gunicorn on the loopback against the 50,000-account bench database (DEBUG off),
# 50 simulated people for a bounded time with locust, headless; then gunicorn is stopped.
# Needs the bench dataset: run `make bench` first.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
PORT="${LOADTEST_PORT:-8011}"
USERS="${LOADTEST_USERS:-50}"
SECONDS_MEASURED="${LOADTEST_SECONDS:-60}"
# People arrive over the first seconds (each login hashes a password, hundreds of ms of CPU by
# design); the figures printed are those of the SECONDS_MEASURED that follow, with every user on.
SPAWN_RATE="${LOADTEST_SPAWN_RATE:-2}"
RAMP="$(( (USERS + SPAWN_RATE - 1) / SPAWN_RATE ))"
CORES="$(nproc)"
WORKERS="$((2 * CORES + 1))"
: "${DATABASE_URL:?set DATABASE_URL to the bench database}"

# Plain HTTP on the loopback: cookies without the Secure flag, or the browser-like client drops them.
export DATABASE_URL DEBUG=0 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 ALLOWED_HOSTS=127.0.0.1
# One cache for all workers, as production should run (see CACHE_URL in the README).
export CACHE_URL="${LOADTEST_CACHE_URL:-redis://127.0.0.1:6379/3}"
SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY

"$PY" manage.py shell -v 0 -c "from csworkbench.shell.bench_pages import ensure_load_users; ensure_load_users()"
"$PY" manage.py collectstatic --noinput -v 0
# What the nightly run leaves behind in production: the day's backtest, computed once, in the cache.
"$PY" manage.py shell -v 0 -c "from interviews.tasks import refresh_backtest; refresh_backtest()"
read -r FIRST LAST < <("$PY" manage.py shell -v 0 -c \
  "from accounts.models import Account; from django.db.models import Max, Min; \
r = Account.objects.aggregate(a=Min('pk'), b=Max('pk')); print(r['a'], r['b'])")
export LOADTEST_FIRST_ACCOUNT="$FIRST" LOADTEST_LAST_ACCOUNT="$LAST"

"$VENV/bin/gunicorn" csworkbench.wsgi --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --access-logfile /dev/null --error-logfile /tmp/loadtest-gunicorn.log &
GUNICORN=$!
trap 'kill -TERM "$GUNICORN" 2>/dev/null || true; wait "$GUNICORN" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.2
done

echo "loadtest: $USERS users arriving over ${RAMP}s, then ${SECONDS_MEASURED}s measured, against" \
  "127.0.0.1:$PORT ($WORKERS gunicorn workers, $CORES cores, load average $(cut -d' ' -f1 /proc/loadavg) before)"
"$VENV/bin/locust" -f scripts/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" \
  -t "$((RAMP + SECONDS_MEASURED))s" --reset-stats --host "http://127.0.0.1:$PORT" --only-summary \
  --csv /tmp/loadtest --loglevel WARNING || true
"$PY" - "$CORES" <<'PY'
import csv, sys
cores = int(sys.argv[1])
with open("/tmp/loadtest_stats.csv", newline="") as handle:
    rows = {row["Name"]: row for row in csv.DictReader(handle)}
total = rows["Aggregated"]
requests, failures = int(total["Request Count"]), int(total["Failure Count"])
rps = float(total["Requests/s"])
print()
print(f"requests {requests:,}   errors {failures}   p50 {total['50%']} ms   p95 {total['95%']} ms"
      f"   throughput {rps:.1f} req/s = {rps / cores:.1f} req/s per core"
      f"   (goal: zero errors, p95 < 500 ms)")
PY

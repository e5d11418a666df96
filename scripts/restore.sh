#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a database, replacing what it holds. Usage:
#
#   scripts/restore.sh FILE [TARGET_DATABASE_URL]
#
# The target defaults to DATABASE_URL; it must exist (createdb it first for a new one). Stop the
# web and worker processes before restoring over a live database. The restore is one
# transaction: if any statement fails, the target is left exactly as it was.
set -euo pipefail

dump="${1:?usage: scripts/restore.sh FILE [TARGET_DATABASE_URL]}"
target="${2:-${DATABASE_URL:?Give a target database URL or set DATABASE_URL}}"

# Read the file's table of contents first: a truncated or foreign file fails here, before the
# target is touched.
pg_restore --list "$dump" >/dev/null
pg_restore --clean --if-exists --no-owner --no-acl --exit-on-error --single-transaction \
  --dbname="$target" "$dump"
echo "restored $dump"

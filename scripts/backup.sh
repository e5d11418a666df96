#!/usr/bin/env bash
# Back up the workbench's PostgreSQL database to one file (pg_dump's custom format: compressed,
# restorable table by table). Usage:
#
#   DATABASE_URL=postgres://user:pass@host:5432/csworkbench scripts/backup.sh [FILE]
#
# FILE defaults to backups/csworkbench-<UTC time>.dump. The dump is written to FILE.partial and
# renamed when complete, so a FILE that exists is never a half-written backup. Prints FILE.
set -euo pipefail

: "${DATABASE_URL:?Set DATABASE_URL to the database to back up}"
out="${1:-backups/csworkbench-$(date -u +%Y%m%dT%H%M%SZ).dump}"
mkdir -p "$(dirname "$out")"

# No owners or grants: the dump restores into a database owned by another role.
pg_dump --format=custom --no-owner --no-acl --file="$out.partial" "$DATABASE_URL"
mv "$out.partial" "$out"
echo "$out"

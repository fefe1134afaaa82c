#!/usr/bin/env bash
# Nightly backup of the suite's PostgreSQL database on a single VM (civil-backup.timer):
# a custom-format pg_dump of the whole database (every service's schema, audit trails
# included), checked by listing it back, kept for CIVIL_BACKUP_KEEP_DAYS days.
#
# The PII key (CIVIL_PII_KEY) and the token issuer's keys are NOT in the dump, on purpose:
# a stolen dump without the key reveals no identity number. Keep the key in the county's
# key escrow (docs/operations/restore.md); a dump without its key restores no sealed number.
#
# Settings (environment, e.g. from /etc/civil/backup.env):
#   CIVIL_BACKUP_URL        libpq URL of the database (default postgres:///civil, local socket)
#   CIVIL_BACKUP_DIR        where dumps go (default /var/backups/civil)
#   CIVIL_BACKUP_KEEP_DAYS  retention in days (default 35: a month plus the weekend after it)
# Restore: docs/operations/restore.md (pg_restore, then `civil restore-check`).
set -euo pipefail

url="${CIVIL_BACKUP_URL:-postgres:///civil}"
dir="${CIVIL_BACKUP_DIR:-/var/backups/civil}"
keep="${CIVIL_BACKUP_KEEP_DAYS:-35}"
[[ $keep =~ ^[0-9]+$ ]] || { echo "CIVIL_BACKUP_KEEP_DAYS must be a number of days" >&2; exit 2; }

mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
tmp="$dir/.civil-$stamp.dump.partial"
out="$dir/civil-$stamp.dump"
trap 'rm -f "$tmp"' EXIT

pg_dump --format=custom --compress=6 --no-owner --file="$tmp" "$url"
# A dump that cannot be listed is not a backup: check before it replaces anything.
pg_restore --list "$tmp" >/dev/null
sha256sum "$tmp" | sed "s|$tmp|$(basename "$out")|" >"$out.sha256"
mv "$tmp" "$out"
echo "civil-backup: wrote $out ($(du -h "$out" | cut -f1))"

# Retention: delete dumps (and their checksums) older than the window, never the newest one.
newest="$(ls -1t "$dir"/civil-*.dump | head -n1)"
find "$dir" -maxdepth 1 -name 'civil-*.dump' -mtime +"$keep" ! -path "$newest" -print -delete |
  while read -r old; do rm -f "$old.sha256"; echo "civil-backup: removed $old"; done

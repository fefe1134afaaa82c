#!/usr/bin/env bash
# Captures the SQL of ONE after-death case on PostgreSQL, grouped into transactions per backend,
# as the model for after_death_pgbench.sql.
#
# Turns `log_statement = 'all'` on for new connections to the test database (reset on exit, also
# on failure), runs the after_death bench in capture mode (a warm-up case, then one case between
# two marker queries), and reads the server log between the markers, keeping only the backends
# of the bench's own schemas (other suites may share the database).
#
# Usage: CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test tests/benches/capture_case_sql.sh [out.txt]
# Needs: psql, python3, read access to the server log (PGLOG, default the Debian cluster log).
set -euo pipefail

: "${CIVIL_TEST_PG:?set CIVIL_TEST_PG}"
OUT=${1:-/tmp/after_death_case_sql.txt}
PGLOG=${PGLOG:-$(ls -t /var/log/postgresql/postgresql-*-main.log | head -1)}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/civil-target}

DB=$(psql "$CIVIL_TEST_PG" -Atc 'SELECT current_database()')
reset() {
    psql "$CIVIL_TEST_PG" -qAtc "ALTER ROLE CURRENT_USER IN DATABASE $DB RESET log_statement" \
        && echo "log_statement reset" >&2
}
trap reset EXIT
trap 'exit 130' INT TERM
psql "$CIVIL_TEST_PG" -qAtc "ALTER ROLE CURRENT_USER IN DATABASE $DB SET log_statement = 'all'"

START=$(stat -c %s "$PGLOG")
BENCH_OUT=$(mktemp)
(cd "$ROOT" && AFTER_DEATH_CAPTURE=1 cargo bench -q -p e2e --bench after_death) | tee "$BENCH_OUT"
reset
trap - EXIT
PREFIX=$(sed -n 's/^schema prefix: //p' "$BENCH_OUT")
rm -f "$BENCH_OUT"
[ -n "$PREFIX" ] || { echo "no schema prefix in the bench output" >&2; exit 1; }

PARSER=$(mktemp --suffix .py)
cat >"$PARSER" <<'EOF'
import re, sys
from collections import Counter, defaultdict

prefix = sys.argv[1]
head = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \S+ \[(\d+)\] \S* ?(LOG|DETAIL|ERROR|STATEMENT|FATAL|WARNING|HINT|CONTEXT):  (.*)$')
records = []  # [time, pid, kind, text]
for line in sys.stdin:
    line = line.rstrip('\n')
    m = head.match(line)
    if m:
        records.append([m.group(1), m.group(2), m.group(3), m.group(4)])
    elif records:
        records[-1][3] += '\n' + line

schema = {}
stmts = []  # (index, time, pid, sql, params)
for r in records:
    t, pid, kind, text = r
    if kind == 'LOG':
        m = re.match(r'(?:statement|execute [^:]*): (.*)$', text, re.S)
        if m:
            sql = m.group(1)
            s = re.match(r'SET search_path TO (\w+)', sql)
            if s:
                schema[pid] = s.group(1)
            stmts.append([t, pid, sql, ''])
    elif kind == 'DETAIL' and text.startswith('parameters:') and stmts and stmts[-1][1] == pid:
        stmts[-1][3] = text[len('parameters: '):]

begin = next(i for i, s in enumerate(stmts) if 'after_death_capture_begin' in s[2])
end = next(i for i, s in enumerate(stmts) if 'after_death_capture_end' in s[2])
mine = {p for p, s in schema.items() if s.startswith(prefix)}

def norm(sql):
    return re.sub(r'\s+', ' ', sql).strip()

open_tx = {}
txs = []  # (time, schema, [(sql, params)])
for t, pid, sql, params in stmts[begin + 1:end]:
    if pid not in mine:
        continue
    n = norm(sql)
    up = n.upper()
    if up.startswith('SET SEARCH_PATH'):
        continue  # a pool opening a connection
    if up.startswith('BEGIN'):
        open_tx[pid] = (t, [])
    elif up.startswith('COMMIT') or up.startswith('ROLLBACK'):
        if pid in open_tx:
            t0, body = open_tx.pop(pid)
            txs.append((t0, schema[pid][len(prefix):], body, up.split()[0]))
    elif pid in open_tx:
        open_tx[pid][1].append((n, params))
    else:
        txs.append((t, schema[pid][len(prefix):], [(n, params)], 'autocommit'))

# Background work that runs whether or not a case does (pollers that found nothing, the bench's
# own completion polling) is not part of the case's commit sequence.
def idle(body, end_kind):
    shapes = [s for s, _ in body if not s.startswith('SELECT CAST(FLOOR(EXTRACT(EPOCH')]
    if not shapes:
        # A clock read alone in a transaction is an empty claim; alone outside one it is a
        # step's preparation (which reads the case next).
        return end_kind != 'autocommit'
    if len(shapes) == 1 and (
        'FROM outbox WHERE published_at_ms IS NULL' in shapes[0]
        or shapes[0].startswith('SELECT COUNT(*) FROM cases WHERE state')
        or shapes[0].startswith("UPDATE case_steps SET state = 'running', attempts = attempts + 1")):
        return True
    return False

dropped = sum(1 for x in txs if idle(x[2], x[3]))
txs = [x for x in txs if not idle(x[2], x[3])]
print(f'# dropped {dropped} idle transactions (empty polls of outbox relays and claims, the bench polling)')

def writes(body):
    return any(re.match(r'(INSERT|UPDATE|DELETE|WITH)', s, re.I) and not s.upper().startswith('SELECT') for s, _ in body)

print(f'# one after-death case, schemas {prefix}*: {len(txs)} transactions '
      f'({sum(1 for x in txs if writes(x[2]))} writing), {sum(len(x[2]) for x in txs)} statements')
per = Counter()
tx_per = Counter()
wtx_per = Counter()
for t, sch, body, end_kind in txs:
    per[sch] += len(body)
    tx_per[sch] += 1
    wtx_per[sch] += writes(body)
print('# per schema: transactions (writing) / statements')
for sch in sorted(per):
    print(f'#   {sch:12} {tx_per[sch]:4} ({wtx_per[sch]:3}) / {per[sch]:4}')
shapes = Counter()
for t, sch, body, _ in txs:
    for s, _ in body:
        shapes[(sch, s[:110])] += 1
print('# statement shapes (count, schema, first 110 chars)')
for (sch, s), n in shapes.most_common():
    print(f'#   {n:3} {sch:11} {s}')
print()
for i, (t, sch, body, end_kind) in enumerate(txs):
    print(f'-- tx {i + 1} {t} {sch} {end_kind} ({len(body)} statements){" [write]" if writes(body) else ""}')
    for s, p in body:
        print(f'   {s}')
        if p:
            print(f'      params: {p[:600]}')
EOF
tail -c +"$((START + 1))" "$PGLOG" | python3 "$PARSER" "$PREFIX" >"$OUT"
rm -f "$PARSER"
echo "wrote $OUT" >&2
head -60 "$OUT" >&2

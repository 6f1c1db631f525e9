#!/usr/bin/env bash
# The PostgreSQL and Redis figures of docs/scaling.md: the decision log's write rate one decision per
# transaction, with a hold on one shared budget row, and 64 decisions per transaction (the service's
# group commit); then Redis round trips. Rows have the field lengths a real decision has (request 801
# bytes, response 376). Usage: benchmarks/scaling/run.sh (PGHOST picks the server, default 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")"
host="${PGHOST:-127.0.0.1}"
psql -q -h "$host" -U postgres -d test -f schema.sql
uptime
pgbench -n -h "$host" -U postgres -c 8 -j 2 -T 15 -f insert.sql test | grep -E '^tps|latency average'
pgbench -n -h "$host" -U postgres -c 8 -j 2 -T 15 -f insert_budget.sql test | grep -E '^tps|latency average'
for writers in 1 2 4; do
  pgbench -n -h "$host" -U postgres -c "$writers" -j "$writers" -T 15 -f group64.sql test | grep -E '^tps'
done
psql -h "$host" -U postgres -d test -t -c "SELECT count(*), pg_total_relation_size('scaling_pgb.decisions') / count(*) AS bytes_per_decision FROM scaling_pgb.decisions"
psql -q -h "$host" -U postgres -d test -c 'DROP SCHEMA scaling_pgb CASCADE'
redis-benchmark -h 127.0.0.1 -q -n 100000 -c 8 -t set,get,incr
redis-benchmark -h 127.0.0.1 -q -n 400000 -c 8 -P 16 -t set,get,incr
redis-benchmark -h 127.0.0.1 -q -n 100000 -c 8 -d 1024 -t set,get
uptime

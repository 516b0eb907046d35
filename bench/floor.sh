#!/usr/bin/env bash
# The floor for issue 2's read goal: the bare route beside the smallest server doing the work of an
# authenticated SQLite client read (bench/lib/floor-server.ts), with and without the read. Same
# autocannon settings, CPU of the server process per request. Usage: bash bench/floor.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_ROUTE="${1:-5}"
AC=node_modules/.bin/autocannon
AUTH="authorization=Basic QWRtaW46YWRtaW4="   # Admin:admin
WORK="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
node --import tsx bench/lib/baseline-server.ts 18391 & pids+=($!)
BARE_PID=$!
node --import tsx bench/lib/floor-server.ts "$WORK/floor.db" 18393 & pids+=($!)
FLOOR_PID=$!
for _ in $(seq 1 60); do curl -sf localhost:18391/ >/dev/null && curl -sf -u Admin:admin localhost:18393/clients/1 >/dev/null && break; sleep 0.5; done
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
measure() { # name pid url
  "$AC" -c 20 -d 1 -H "$AUTH" "$3" >/dev/null 2>&1
  local c0 c1 out total non2xx rps
  c0=$(cpu "$2"); out=$("$AC" -c 20 -d "$SECONDS_PER_ROUTE" -j -H "$AUTH" "$3" 2>/dev/null); c1=$(cpu "$2")
  read -r total non2xx rps < <(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(j.requests.total,j.non2xx,Math.round(j.requests.average))' <<<"$out")
  [ "$non2xx" = 0 ] || { echo "BROKEN: $1 got $non2xx non-2xx answers" >&2; exit 1; }
  printf '%-36s %7s req/s  %4s CPU µs/req\n' "$1" "$rps" "$(( (c1 - c0) * TICK_US / total ))"
}
for round in 1 2; do
  measure 'bare GET /' "$BARE_PID" http://127.0.0.1:18391/
  measure 'floor GET /clients/:id' "$FLOOR_PID" http://127.0.0.1:18393/clients/77
  measure 'floor, same without the SQLite read' "$FLOOR_PID" http://127.0.0.1:18393/nosql/77
done

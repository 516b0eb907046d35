#!/usr/bin/env bash
# Where a request's CPU goes, route by route: the bare Fastify route, then hub routes that add one
# piece at a time (public → authenticated simple read → client read). Same autocannon settings for
# all, baseline measured in the same run. Usage: bash bench/route-cpu.sh [seconds per route]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_ROUTE="${1:-6}"
AC=node_modules/.bin/autocannon
AUTH="authorization=Basic QWRtaW46YWRtaW4="   # Admin:admin, the bootstrap user of a fresh hub
WORK="$(mktemp -d)"
BARE_PORT=18391
HUB_PORT=18392
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

node --import tsx bench/lib/baseline-server.ts "$BARE_PORT" & pids+=($!)
BARE_PID=$!
(cd "$WORK" && exec env -i PATH="$PATH" HOME="$HOME" LOG_LEVEL=warn node "$OLDPWD/bin/conveyor.js" start --port "$HUB_PORT" --no-demo) > "$WORK/hub.log" 2>&1 & pids+=($!)
HUB_PID=$!
for _ in $(seq 1 60); do curl -sf "localhost:$HUB_PORT/healthz" >/dev/null && curl -sf "localhost:$BARE_PORT/" >/dev/null && break; sleep 0.5; done
curl -sf -u Admin:admin -XPOST "localhost:$HUB_PORT/clients" -H 'content-type: application/json' \
  -d '{"firstName":"Иван","lastName":"Иванов","birthDate":"1990-01-01","email":"ivan@example.ru"}' >/dev/null

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }   # utime+stime of all threads, in clock ticks
TICK_US=$((1000000 / $(getconf CLK_TCK)))
bare_rps=""
measure() { # name pid url
  "$AC" -c 20 -d 2 -H "$AUTH" "$3" >/dev/null 2>&1   # warm-up
  local c0 c1 out total non2xx rps
  c0=$(cpu "$2")
  out=$("$AC" -c 20 -d "$SECONDS_PER_ROUTE" -j -H "$AUTH" "$3" 2>/dev/null)
  c1=$(cpu "$2")
  read -r total non2xx rps < <(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(j.requests.total,j.non2xx,Math.round(j.requests.average))' <<<"$out")
  [ "$non2xx" = 0 ] || { echo "BROKEN: $1 got $non2xx non-2xx answers" >&2; exit 1; }
  [ -n "$bare_rps" ] || bare_rps=$rps
  printf '%-32s %7s req/s  %5s%% of bare  %4s CPU µs/req\n' "$1" "$rps" "$((100 * rps / bare_rps))" "$(( (c1 - c0) * TICK_US / total ))"
}
measure 'bare GET /' "$BARE_PID" "http://127.0.0.1:$BARE_PORT/"
measure 'hub GET /healthz (public)' "$HUB_PID" "http://127.0.0.1:$HUB_PORT/healthz"
measure 'hub GET /communication_types/1' "$HUB_PID" "http://127.0.0.1:$HUB_PORT/communication_types/1"
measure 'hub GET /clients/1' "$HUB_PID" "http://127.0.0.1:$HUB_PORT/clients/1"

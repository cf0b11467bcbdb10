#!/usr/bin/env bash
# Loads /graphiql in headless Chromium with every host except the loopback server unreachable, and
# checks that GraphiQL rendered (its editor and the Roster default query are in the DOM).
# Needs Debian's chromium (`apt-get install chromium`). Writes a screenshot to $OUT (default
# /tmp/graphiql-offline.png).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/roster-target}"
OUT="${OUT:-/tmp/graphiql-offline.png}"
PORT="${PORT:-18080}"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build -q --bin roster
( cd "$WORK" && ROSTER_LISTEN="127.0.0.1:$PORT" ROSTER_ADMIN_PASSWORD=offline-check-1 \
    exec "$CARGO_TARGET_DIR/debug/roster" >"$WORK/server.log" 2>&1 ) &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

# Every name resolves to nothing except 127.0.0.1: the network is cut for the page.
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --user-data-dir="$WORK/profile"
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --proxy-server="127.0.0.1:9" --proxy-bypass-list="127.0.0.1"
  --virtual-time-budget=15000 --window-size=1280,800)
chromium "${FLAGS[@]}" --dump-dom "http://127.0.0.1:$PORT/graphiql" >"$WORK/dom.html" 2>/dev/null
chromium "${FLAGS[@]}" --screenshot="$OUT" "http://127.0.0.1:$PORT/graphiql" >/dev/null 2>&1

if grep -q 'graphiql-container' "$WORK/dom.html" && grep -q 'Log in, copy accessToken' "$WORK/dom.html"; then
  echo "GraphiQL rendered with the network cut; screenshot: $OUT"
else
  echo "GraphiQL did not render; DOM was:" >&2
  head -c 2000 "$WORK/dom.html" >&2
  exit 1
fi

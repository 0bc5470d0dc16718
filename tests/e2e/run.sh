#!/usr/bin/env bash
# End-to-end tests of the web application in a real browser (Debian's chromium, driven by
# playwright-core; no browser download). Builds the binary, starts `safeguard demo` on a free
# loopback port with a fresh data folder, runs `node --test` against it, and stops the server.
# Screenshots land in target/e2e-screenshots/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  else
    echo "chromium is missing: apt-get install -y chromium" >&2
    exit 1
  fi
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cargo build -p safeguard-cli
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
bin="$target_dir/debug/safeguard"

data="$(mktemp -d)"
log="$data/server.log"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

"$bin" --data-dir "$data" demo --reports 200 --listen 127.0.0.1:0 --public-listen 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!

url=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server stopped:" >&2
    cat "$log" >&2
    exit 1
  fi
  line="$(grep -m1 -o 'Safeguard listening on http://[^ ]*' "$log" || true)"
  if [ -n "$line" ]; then
    url="${line#Safeguard listening on }"
    break
  fi
  sleep 0.5
done
if [ -z "$url" ]; then
  echo "the server did not start in time:" >&2
  cat "$log" >&2
  exit 1
fi
echo "server at $url"
# The public "Trace an Object" site on its own listener (printed before the main address).
public_url="$(grep -m1 -o 'Trace an Object (public site) listening on http://[^ ]*' "$log" | sed 's/.* on //')"
if [ -z "$public_url" ]; then
  echo "the public site did not start:" >&2
  cat "$log" >&2
  exit 1
fi
echo "public site at $public_url"

mkdir -p "$root/target/e2e-screenshots"
SAFEGUARD_URL="$url" SAFEGUARD_PUBLIC_URL="$public_url" SCREENSHOT_DIR="$root/target/e2e-screenshots" \
  node --test --test-concurrency=1 "$here"/*.test.mjs

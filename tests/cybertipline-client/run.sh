#!/usr/bin/env bash
# Runs the public npm CyberTipline client `cybertipline-tools` (unchanged) against a freshly
# built `safeguard serve` on 127.0.0.1 (a free port) with a temporary data folder.
#
# Needs: cargo, node (>= 20; the package asks for 24 but runs on 20), npm.
# Transport: plain HTTP on loopback. The client hard-codes https://exttest.cybertip.org/ispws;
# the test harness (client.test.mjs) wraps globalThis.fetch to send those requests to the local
# server instead, so no TLS certificate is needed and the library stays untouched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cargo build --quiet -p safeguard-cli --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/safeguard"

data="$(mktemp -d)"
log="$data/serve.log"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

export SAFEGUARD_DATA_DIR="$data"
password="npm client test password"
"$bin" org add "Test Hotline" --kind hotline --country US >/dev/null
"$bin" org add "Test Company" --kind reporter >/dev/null
printf '%s\n' "$password" | "$bin" user add --org "Test Company" --role reporter --username npm-reporter --password-stdin >/dev/null

"$bin" serve --listen 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(sed -n 's/^Safeguard listening on http:\/\/\(.*\)$/\1/p' "$log" | head -1)"
  [[ -n "$addr" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$log"; echo "server did not start"; exit 1; fi
  sleep 0.1
done
[[ -n "$addr" ]] || { cat "$log"; echo "server did not print its address"; exit 1; }

cd "$here"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
SAFEGUARD_ISPWS_URL="http://$addr/ispws" SAFEGUARD_ISPWS_USER=npm-reporter SAFEGUARD_ISPWS_PASSWORD="$password" \
  node --test client.test.mjs

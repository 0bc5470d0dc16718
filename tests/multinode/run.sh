#!/usr/bin/env bash
# Several nodes on one PostgreSQL database: starts three `safeguard serve` nodes (the real
# binary, loopback ports, one fresh database) with the routing worker, drives JSON API intake
# through all of them, kills one node with SIGKILL in the middle, and checks that every
# acknowledged report (HTTP 201) was routed exactly once: one job, done; one routing result; its
# referrals once each; and that nothing the dead node had leased stayed unprocessed.
#
# Needs: cargo, curl, psql, PostgreSQL at SAFEGUARD_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
admin_url="${SAFEGUARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
reports="${MULTINODE_REPORTS:-120}"

cargo build --quiet -p safeguard-cli --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/safeguard"

db="sg_multinode_$$"
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
url="${admin_url%/*}/$db"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
q() { psql -qtA "$url" -c "$1"; }

export SAFEGUARD_DATABASE_URL="$url"
sg() { "$bin" --data-dir "$work/admin" "$@"; }
sg migrate >/dev/null
sg org add "Test Hotline" --kind hotline --country US >/dev/null
sg org add "Test Company" --kind reporter >/dev/null
sg org add "Agency DE" --kind agency --country DE >/dev/null
printf 'multinode test password\n' | sg user add --org "Test Company" --role reporter --username mn-reporter --password-stdin >/dev/null
token="$(sg token create --username mn-reporter)"
cat >"$work/rules.toml" <<'RULES'
[[route]]
countries = ["DE"]
to = "Agency DE"
[fallback]
unknown_country = { to = "Test Hotline" }
no_jurisdiction = { to = "Test Hotline" }
RULES

addrs=()
start_node() {
  local n="$1" log="$work/node$1.log"
  "$bin" --data-dir "$work/node$n" serve --listen 127.0.0.1:0 --rules "$work/rules.toml" \
    --job-lease-secs 3 >"$log" 2>&1 &
  pids[$n]=$!
  local addr=""
  for _ in $(seq 1 300); do
    addr="$(sed -n 's/^Safeguard listening on http:\/\/\(.*\)$/\1/p' "$log" | head -1)"
    [[ -n "$addr" ]] && break
    kill -0 "${pids[$n]}" 2>/dev/null || { cat "$log"; echo "node $n did not start"; exit 1; }
    sleep 0.1
  done
  [[ -n "$addr" ]] || { cat "$log"; echo "node $n did not print its address"; exit 1; }
  addrs[$n]="$addr"
}
for n in 0 1 2; do start_node "$n"; done
echo "nodes: ${addrs[*]}"

acked="$work/acked"
: >"$acked"
submit() {
  local i="$1" node="$2"
  local ip="87.128.$((i % 200)).$((i % 250 + 1))"
  local body
  body="{\"incident\":{\"incident_type\":\"online_enticement\",\"occurred_at\":\"2024-03-01T18:22:05+01:00\"},\"parties\":[{\"role\":\"reported\",\"emails\":[\"mn-$i@example.net\"],\"ip_events\":[{\"ip\":\"$ip\",\"at\":\"2024-03-01T18:00:00Z\"}]}]}"
  local out
  out="$(curl -s -m 10 -o - -w '\n%{http_code}' -X POST "http://${addrs[$node]}/api/v1/reports" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: mn-$i" --data "$body" 2>/dev/null || true)"
  local code="${out##*$'\n'}"
  if [[ "$code" == "201" || "$code" == "200" ]]; then
    printf '%s\n' "${out%$'\n'*}" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p' >>"$acked"
  fi
}

killed=1
batch=()
for i in $(seq 1 "$reports"); do
  node=$((i % 3))
  if (( i == reports / 3 )); then
    kill -9 "${pids[$killed]}"
    wait "${pids[$killed]}" 2>/dev/null || true
    echo "killed node $killed (SIGKILL) after $i submissions"
  fi
  submit "$i" "$node" &
  batch+=($!)
  if (( ${#batch[@]} == 8 )); then wait "${batch[@]}"; batch=(); fi
done
(( ${#batch[@]} == 0 )) || wait "${batch[@]}"
sort -un "$acked" -o "$acked"
n_acked="$(wc -l <"$acked" | tr -d ' ')"
echo "acknowledged reports: $n_acked of $reports submitted"
(( n_acked >= reports / 2 )) || { echo "too few reports acknowledged"; exit 1; }
ids="$(paste -sd, "$acked")"

# Wait until every acknowledged report's job is done (leases of the dead node expire after 3 s).
for _ in $(seq 1 600); do
  pending="$(q "SELECT COUNT(*) FROM job WHERE kind = 'report.finished' AND subject_id IN ($ids) AND done_at IS NULL")"
  [[ "$pending" == "0" ]] && break
  sleep 0.1
done
fail=0
check() { # name, SQL giving a number, expected
  local got; got="$(q "$2")"
  if [[ "$got" == "$3" ]]; then echo "ok   $1: $got"; else echo "FAIL $1: got $got, expected $3"; fail=1; fi
}
check "jobs of acknowledged reports" "SELECT COUNT(*) FROM job WHERE kind = 'report.finished' AND subject_id IN ($ids)" "$n_acked"
check "jobs done" "SELECT COUNT(*) FROM job WHERE kind = 'report.finished' AND subject_id IN ($ids) AND done_at IS NOT NULL" "$n_acked"
check "jobs parked or failing" "SELECT COUNT(*) FROM job WHERE subject_id IN ($ids) AND (failed_at IS NOT NULL OR last_error IS NOT NULL)" "0"
check "routing results" "SELECT COUNT(*) FROM report_routing WHERE report_id IN ($ids)" "$n_acked"
check "reports with a referral" "SELECT COUNT(DISTINCT report_id) FROM referral WHERE report_id IN ($ids)" "$n_acked"
check "duplicate referrals" "SELECT COUNT(*) FROM (SELECT report_id, to_org FROM referral WHERE report_id IN ($ids) GROUP BY report_id, to_org HAVING COUNT(*) > 1) d" "0"
check "reports stored twice" "SELECT COUNT(*) FROM (SELECT uid FROM report GROUP BY uid HAVING COUNT(*) > 1) d" "0"
check "referrals to Agency DE" "SELECT COUNT(*) FROM referral f JOIN organisation o ON o.id = f.to_org WHERE o.name = 'Agency DE' AND f.report_id IN ($ids)" "$n_acked"
workers="$(q "SELECT COUNT(DISTINCT locked_by) FROM job WHERE subject_id IN ($ids)")"
echo "info nodes that ran jobs: $workers"
(( workers >= 2 )) || { echo "FAIL expected jobs run by at least two nodes"; fail=1; }
reruns="$(q "SELECT COUNT(*) FROM (SELECT object_id FROM audit_log WHERE action = 'report.route' AND object_id IN (SELECT CAST(id AS TEXT) FROM report WHERE id IN ($ids)) GROUP BY object_id HAVING COUNT(*) > 1) d")"
echo "info reports routed again after the kill (idempotent re-run, no new effect): $reruns"
[[ "$fail" == "0" ]] || { for n in 0 2; do tail -20 "$work/node$n.log"; done; exit 1; }
echo "multinode: every acknowledged report routed exactly once"

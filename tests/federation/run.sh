#!/usr/bin/env bash
# Three instances on loopback, each with its own SQLite database and signing key: a hotline, a
# coordinator and a national agency. Reports sent to the hotline are routed to the agency through
# the coordinator: the hotline delivers the referral to the coordinator, which forwards it and
# delivers a signed package to the agency. Checks that
#   - the package arrives in the agency's inbox with the report's chain of custody (hops recorded
#     by all three instances);
#   - delivery survives the agency being stopped and restarted (the package waits in the
#     coordinator's outbox, then arrives once, not twice);
#   - an acknowledgement and an outcome reported at the agency flow back to the coordinator's
#     package and to the hotline's report;
#   - private deconfliction between the hotline and the coordinator reveals only the identifiers
#     both hold, and alerts both.
# Needs: cargo, curl, jq, python3 (to pick free ports).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cargo build --quiet -p safeguard-cli --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/safeguard"

work="$(mktemp -d)"
declare -A pid
cleanup() {
  for k in "${!pid[@]}"; do kill "${pid[$k]}" 2>/dev/null || true; done
  for k in "${!pid[@]}"; do wait "${pid[$k]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
unset SAFEGUARD_DATABASE_URL SAFEGUARD_FEDERATION SAFEGUARD_ROUTING_RULES

read -r PH PC PA < <(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
H="$work/hotline"; C="$work/coordinator"; A="$work/agency"
h() { "$bin" --data-dir "$H" "$@"; }
c() { "$bin" --data-dir "$C" "$@"; }
a() { "$bin" --data-dir "$A" "$@"; }
pubkey() { "$bin" --data-dir "$1" keys signing 2>/dev/null | sed -n 's/^ed25519 public key (hex): *//p'; }
user() { # instance-fn org role username -> token
  printf 'federation test password\n' | "$1" user add --org "$2" --role "$3" --username "$4" --password-stdin >/dev/null
  "$1" token create --username "$4"
}
fkey="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

# Hotline: receives reports, routes DE through the coordinator to the German agency.
h org add "Hotline" --kind hotline --country US >/dev/null
h org add "Test Company" --kind reporter >/dev/null
h org add "EU Coordinator" --kind coordinator >/dev/null
h org add "Agency DE" --kind agency --country DE >/dev/null
t_reporter="$(user h "Test Company" reporter company)"
t_h_analyst="$(user h "Hotline" analyst hotline-analyst)"
t_c_at_h="$(user h "EU Coordinator" analyst peer-coordinator)"
# Coordinator
c org add "EU Coordinator" --kind coordinator >/dev/null
c org add "Hotline" --kind hotline --country US >/dev/null
c org add "Agency DE" --kind agency --country DE >/dev/null
t_h_at_c="$(user c "Hotline" analyst peer-hotline)"
t_a_at_c="$(user c "Agency DE" analyst peer-agency)"
# Agency
a org add "Agency DE" --kind agency --country DE >/dev/null
a org add "EU Coordinator" --kind coordinator >/dev/null
t_c_at_a="$(user a "EU Coordinator" analyst peer-coordinator)"
t_investigator="$(user a "Agency DE" investigator investigator-de)"

kh="$(pubkey "$H")"; kc="$(pubkey "$C")"; ka="$(pubkey "$A")"
h federation init --file "$work/h.toml" --instance hotline --org "Hotline" --federation-key "$fkey" >/dev/null
h federation peer-add --file "$work/h.toml" --name coordinator --url "http://127.0.0.1:$PC" --public-key "$kc" \
  --token "$t_h_at_c" --org "EU Coordinator" >/dev/null
c federation init --file "$work/c.toml" --instance coordinator --org "EU Coordinator" --federation-key "$fkey" --auto-forward >/dev/null
c federation peer-add --file "$work/c.toml" --name hotline --url "http://127.0.0.1:$PH" --public-key "$kh" \
  --token "$t_c_at_h" --org "Hotline" >/dev/null
c federation peer-add --file "$work/c.toml" --name agency --url "http://127.0.0.1:$PA" --public-key "$ka" \
  --token "$t_c_at_a" --org "Agency DE" --deliver package >/dev/null
a federation init --file "$work/a.toml" --instance agency --org "Agency DE" >/dev/null
a federation peer-add --file "$work/a.toml" --name coordinator --url "http://127.0.0.1:$PC" --public-key "$kc" \
  --token "$t_a_at_c" --org "EU Coordinator" >/dev/null
poll_ms="${FEDERATION_POLL_MS:-200}"
for f in h c a; do sed -i "s/^poll_ms = .*/poll_ms = $poll_ms/" "$work/$f.toml"; done
cat >"$work/rules.toml" <<'RULES'
[[route]]
countries = ["DE"]
via = ["EU Coordinator"]
to = "Agency DE"
[fallback]
unknown_country = { to = "Hotline" }
no_jurisdiction = { to = "Hotline" }
RULES

start() { # name data port extra-args...
  local name="$1" data="$2" port="$3"; shift 3
  "$bin" --data-dir "$data" serve --listen "127.0.0.1:$port" "$@" >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${pid[$name]}" 2>/dev/null || { cat "$work/$name.log"; echo "$name did not start"; exit 1; }
    sleep 0.1
  done
  cat "$work/$name.log"; echo "$name did not answer"; exit 1
}
start hotline "$H" "$PH" --rules "$work/rules.toml" --federation "$work/h.toml"
start coordinator "$C" "$PC" --federation "$work/c.toml"
start agency "$A" "$PA" --federation "$work/a.toml"

api() { # token method port path [body]
  if [[ $# -ge 5 ]]; then
    curl -sf -X "$2" "http://127.0.0.1:$3$4" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data "$5"
  else
    curl -sf -X "$2" "http://127.0.0.1:$3$4" -H "Authorization: Bearer $1"
  fi
}
report() { # email ip
  printf '{"incident":{"incident_type":"online_enticement","occurred_at":"2024-03-01T18:22:05+01:00"},"parties":[{"role":"reported","emails":["%s"],"screen_name":"demo-%s","ip_events":[{"ip":"%s","at":"2024-03-01T18:00:00Z"}]}]}' "$1" "${1%@*}" "$2"
}
wait_for() { # description seconds command...
  local what="$1" secs="$2"; shift 2
  local tries=$((secs * 10))
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "FAIL timed out waiting for: $what"
  for n in hotline coordinator agency; do echo "--- $n"; tail -15 "$work/$n.log"; done
  exit 1
}
inbox_has() { # uid
  api "$t_investigator" GET "$PA" /api/v1/inbox | jq -e --arg u "$1" '[.[] | .manifest.reports[] | select(.uid == $u)] | length == 1'
}

# 1. A report to the hotline reaches the agency's inbox.
r1="$(api "$t_reporter" POST "$PH" /api/v1/reports "$(report demo-one@example.net 87.128.1.1)")"
uid1="$(jq -r .uid <<<"$r1")"; id1="$(jq -r .id <<<"$r1")"
wait_for "report 1 in the agency's inbox" 30 inbox_has "$uid1"
echo "ok   report 1 arrived in the agency's inbox"

# 2. The agency is stopped: the next report waits in the coordinator's outbox, then arrives once.
kill "${pid[agency]}"; wait "${pid[agency]}" 2>/dev/null || true; unset 'pid[agency]'
r2="$(api "$t_reporter" POST "$PH" /api/v1/reports "$(report demo-two@example.net 87.128.2.2)")"
uid2="$(jq -r .uid <<<"$r2")"
failed_attempt() { c federation outbox --pending | jq -e -s 'any(.[]; .kind == "package" and .attempts >= 1 and .last_error != null)'; }
wait_for "a failed delivery attempt to the stopped agency" 30 failed_attempt
echo "ok   delivery to the stopped agency failed and is retried"
start agency "$A" "$PA" --federation "$work/a.toml"
wait_for "report 2 in the agency's inbox after its restart" 45 inbox_has "$uid2"
echo "ok   report 2 arrived after the agency restarted"
n_packages="$(api "$t_investigator" GET "$PA" /api/v1/inbox | jq '[.[] | .manifest.reports[].uid] | length')"
[[ "$n_packages" == "2" ]] || { echo "FAIL expected 2 reports in the inbox, got $n_packages"; exit 1; }
echo "ok   nothing delivered twice (2 reports in 2 packages)"

# 3. The chain of custody at the agency covers all three instances.
pkg1="$(api "$t_investigator" GET "$PA" /api/v1/inbox | jq -r --arg u "$uid1" '.[] | select(.manifest.reports[0].uid == $u) | .id')"
aid1="$(api "$t_investigator" GET "$PA" "/api/v1/packages/$pkg1" | jq -r '.manifest.reports[0].id')"
custody="$(api "$t_investigator" GET "$PA" "/api/v1/reports/$aid1/custody")"
chain="$(jq -r '[.hops[] | "\(.instance):\(.action)"] | join(" ")' <<<"$custody")"
echo "     custody at the agency: $chain"
for hop in hotline:received hotline:referred hotline:sent coordinator:arrived coordinator:forwarded \
           coordinator:packaged coordinator:sent agency:arrived; do
  [[ " $chain " == *" $hop "* ]] || { echo "FAIL custody lacks $hop"; exit 1; }
done
[[ "$(jq -r .report_uid <<<"$custody")" == "$uid1" ]] || { echo "FAIL custody uid"; exit 1; }
echo "ok   custody chain at the agency spans hotline, coordinator and agency"

# 4. Acknowledgement and outcome flow back.
api "$t_investigator" POST "$PA" "/api/v1/packages/$pkg1/acknowledge" >/dev/null
api "$t_investigator" POST "$PA" "/api/v1/packages/$pkg1/outcomes" \
  "{\"outcomes\":[{\"report_id\":$aid1,\"outcome\":\"victim_safeguarded\",\"note\":\"demo outcome\"}]}" >/dev/null
hotline_outcome() {
  api "$t_h_analyst" GET "$PH" "/api/v1/reports/$id1/custody" | jq -e '
    any(.outcomes[]; .outcome == "victim_safeguarded" and .peer == "coordinator")
    and any(.hops[]; .instance == "agency" and .action == "outcome")
    and any(.hops[]; .instance == "agency" and .action == "arrived")'
}
wait_for "the outcome back at the hotline" 30 hotline_outcome
echo "ok   the outcome reached the hotline with the agency's hops in its custody chain"
coordinator_state() {
  sqlite3 "$C/safeguard.db" "SELECT state FROM package WHERE uid = (SELECT uid FROM package ORDER BY id LIMIT 1)" | grep -qx outcome_reported
}
if command -v sqlite3 >/dev/null; then
  wait_for "the coordinator's package marked outcome_reported" 15 coordinator_state
  echo "ok   the coordinator's package moved to outcome_reported"
fi

# 5. Private deconfliction: the hotline also holds a report the coordinator never saw, and the
#    coordinator one the hotline never saw; only the shared identifiers are revealed.
api "$t_reporter" POST "$PH" /api/v1/reports "$(report only-hotline@example.net 192.0.2.77)" >/dev/null
sleep 0.5
shared="$(h federation deconflict --file "$work/h.toml" --peer coordinator 2>/dev/null)"
kinds="$(jq -r -s '[.[] | .kind + ":" + .value] | sort | join(" ")' <<<"$shared")"
echo "     shared with the coordinator: $kinds"
for want in email:demo-one@example.net email:demo-two@example.net account:demo-demo-one account:demo-demo-two; do
  [[ " $kinds " == *" $want "* ]] || { echo "FAIL deconfliction missed $want"; exit 1; }
done
[[ "$kinds" != *only-hotline* ]] || { echo "FAIL deconfliction revealed an identifier the coordinator does not hold"; exit 1; }
c_alerts="$(c federation outbox >/dev/null; api "$t_h_at_c" GET "$PC" /api/v1/federation/alerts)"
jq -e 'any(.[]; .peer == "hotline" and .value == "demo-one@example.net") and all(.[]; .value != "only-hotline@example.net")' <<<"$c_alerts" >/dev/null \
  || { echo "FAIL the coordinator has no alert: $c_alerts"; exit 1; }
echo "ok   deconfliction alerted both sides and revealed only shared identifiers"

# 6. A hash set shared with a peer: the hotline's own shared set goes through the outbox and is
#    imported at the coordinator as a shared set owned by the organisation standing for the
#    hotline; sharing the unchanged set again queues nothing; an unshared set is refused.
vics="$root/crates/formats/tests/data/vics/vics2-hashset-synthetic.json"
h import vics "$vics" --set "Hotline known" --org "Hotline" --shared --source "synthetic test set" >/dev/null
share="$(h federation share-hash-set --file "$work/h.toml" --peer coordinator --set "Hotline known" 2>/dev/null)"
jq -e '.queued == true and .entries == 2' <<<"$share" >/dev/null || { echo "FAIL sharing: $share"; exit 1; }
again="$(h federation share-hash-set --file "$work/h.toml" --peer coordinator --set "Hotline known" 2>/dev/null)"
jq -e '.queued == false' <<<"$again" >/dev/null || { echo "FAIL an unchanged set was queued again: $again"; exit 1; }
h import vics "$vics" --set "Hotline private" --org "Hotline" >/dev/null
if h federation share-hash-set --file "$work/h.toml" --peer coordinator --set "Hotline private" >/dev/null 2>"$work/private.err"; then
  echo "FAIL an unshared hash set was shared"; exit 1
fi
grep -q "not marked shared" "$work/private.err" || { echo "FAIL unclear refusal: $(cat "$work/private.err")"; exit 1; }
set_at_c() { api "$t_h_at_c" GET "$PC" /api/v1/hash-sets | jq -e 'any(.[]; .name == "Hotline known (from hotline)" and .entries == 2 and .shared)' >/dev/null; }
wait_for "the shared hash set at the coordinator" 30 set_at_c
echo "ok   a shared hash set reached the coordinator (2 entries, queued once; an unshared set is refused)"
echo "federation: all checks passed"

# Benchmark (outside CI): FEDERATION_BENCH_REPORTS=N runs N more reports through the chain and
# prints the latency from each report's acknowledgement at the hotline (its received_at) to its
# arrival in the agency's inbox (the agency's `arrived` hop), both on this machine's clock.
n="${FEDERATION_BENCH_REPORTS:-0}"
if (( n > 0 )); then
  uids=()
  for i in $(seq 1 "$n"); do
    r="$(api "$t_reporter" POST "$PH" /api/v1/reports "$(report "bench-$i@example.net" "87.128.3.$((i % 250 + 1))")")"
    uids+=("$(jq -r .uid <<<"$r")")
    sleep "${FEDERATION_BENCH_GAP:-0.2}"
  done
  all_arrived() {
    local got; got="$(api "$t_investigator" GET "$PA" /api/v1/inbox | jq '[.[] | .manifest.reports[].uid] | length')"
    (( got >= n + 2 ))
  }
  wait_for "all benchmark reports at the agency" 600 all_arrived
  : >"$work/lat"
  for aid in $(api "$t_investigator" GET "$PA" /api/v1/inbox | jq -r '.[] | .manifest.reports[] | select(.content.parties[0].emails[0] | startswith("bench-")) | .id'); do
    api "$t_investigator" GET "$PA" "/api/v1/reports/$aid/custody" | jq -r '
      select(any(.hops[]; .instance == "hotline" and .action == "received" and (.detail | test("api"))))
      | ([.hops[] | select(.instance == "hotline" and .action == "received") | .at] | first) as $s
      | ([.hops[] | select(.instance == "agency" and .action == "arrived") | .at] | first) as $e
      | (($e - $s) / 1000000)' >>"$work/lat"
  done
  python3 - "$work/lat" <<'PY'
import sys
xs = sorted(float(l) for l in open(sys.argv[1]) if l.strip())
def pct(p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"bench federation: {len(xs)} reports, acknowledgement at the hotline -> agency inbox: "
      f"p50 {pct(50):.2f} s, p99 {pct(99):.2f} s, max {xs[-1]:.2f} s")
PY
  uptime
fi

#!/usr/bin/env bash
# The web path against the server a team would write instead (issue 13 item 3): InProcServe's typed endpoint, a plain
# minimal-API JSON endpoint in the same server, and the Open Inference Protocol on wide.onnx and on large_model.py's
# 84 MB model, against a Node server (node:http + onnxruntime-node, one session.run per request; node/server.js). Each
# server is pinned to core 0, wrk (Debian's) to core 1, 64 connections, rounds alternating the servers so a change in
# machine load hits all alike.
#
#   bash benchmarks/web-peers/run.sh [SECONDS] [ROUNDS]   (after `dotnet build -c Release`; needs wrk, npm and python3-onnx)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"
rounds="${2:-3}"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || { echo "Debian's python3-onnx is missing (it builds large.onnx): apt-get install -y python3-onnx"; exit 1; }
[ -d "$repo/benchmarks/web-peers/node/node_modules/onnxruntime-node" ] || (cd "$repo/benchmarks/web-peers/node" && npm install --no-audit --no-fund --silent)

# A model whose weights outgrow the caches (84 MB; large_model.py, Debian's python3-onnx), with the numpy answer to the
# request sent: there one row per run reads every weight from memory, and batching pays most.
/usr/bin/python3 "$repo/benchmarks/web-peers/large_model.py" "$work"

# InProcServe: the web load harness's server (FraudDetection.Api's model, handlers and batching, /echo, /v2 with wide.onnx),
# workstation GC unless GC_SERVER=1 (on one core, server GC's heap per core buys nothing).
InProcServe__Models__large__Path="$work/large.onnx" InProcServe__Models__large__Session__IntraOpThreads=1 \
  DOTNET_gcServer="${GC_SERVER:-0}" taskset -c 0 dotnet "$repo/benchmarks/InProcServe.WebLoad/bin/Release/net10.0/InProcServe.WebLoad.dll" --serve 5200 >"$work/ips.log" 2>&1 &
pids+=($!)
taskset -c 0 node "$repo/benchmarks/web-peers/node/server.js" 5100 "$repo/models" "$work/large.onnx" >"$work/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  grep -q webload-server-ready "$work/ips.log" 2>/dev/null && grep -q ready "$work/node.log" 2>/dev/null && break
  sleep 1
done

transaction='{"id": 1, "seconds": 87368.3, "amount": 4.68, "merchantCategory": 3, "country": "JP", "homeCountry": "JP", "cardPresent": true, "transactionsLastHour": 2, "distanceKm": 41, "accountAgeDays": 142}'
wide="$(python3 -c 'import json; print(json.dumps({"inputs":[{"name":"features","datatype":"FP32","shape":[1,256],"data":[round(0.01*i,2) for i in range(256)]}]}))')"
script() { printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$2" >"$work/$1.lua"; }
script fraud "$transaction"
script wide "$wide"
script large "$(cat "$work/large.json")"

# Both servers' answers to the large model's request, against numpy's.
for url in http://127.0.0.1:5200/v2/models/large/infer http://127.0.0.1:5100/v2/models/large/infer; do
  got="$(curl -sf -H 'Content-Type: application/json' --data-binary @"$work/large.json" "$url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["data"][0])')"
  python3 -c "import sys; got, want = float('$got'), float(open('$work/large.expected').read()); sys.exit(0 if abs(got - want) <= 1e-4 else 1)" \
    || { echo "$url answered $got; numpy says $(cat "$work/large.expected")"; exit 1; }
done

# name, URL, body script
cases=(
  "InProcServe typed /fraud/score|http://127.0.0.1:5200/fraud/score|fraud"
  "InProcServe plain /echo|http://127.0.0.1:5200/echo|fraud"
  "Node /fraud/score|http://127.0.0.1:5100/fraud/score|fraud"
  "InProcServe OIP wide (1 row)|http://127.0.0.1:5200/v2/models/wide/infer|wide"
  "Node OIP wide (1 row)|http://127.0.0.1:5100/v2/models/wide/infer|wide"
  "InProcServe OIP large (1 row)|http://127.0.0.1:5200/v2/models/large/infer|large"
  "Node OIP large (1 row)|http://127.0.0.1:5100/v2/models/large/infer|large"
)
for c in "${cases[@]}" "${cases[@]}"; do  # warm-up: twice each, so tiered compilation settles
  IFS='|' read -r _ url body <<<"$c"
  taskset -c 1 wrk -t1 -c64 -d5s -s "$work/$body.lua" "$url" >/dev/null
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); ${seconds} s per case, ${rounds} rounds, 64 connections"
declare -A results
for round in $(seq 1 "$rounds"); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name url body <<<"$c"
    out="$(taskset -c 1 wrk -t1 -c64 -d"${seconds}s" -s "$work/$body.lua" "$url")"
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    errors="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    [ -n "$errors" ] && { echo "$name: non-2xx answers: $errors"; exit 1; }
    results["$name"]+="$rps "
    echo "round $round: $name: $rps req/s"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "median req/s over $rounds rounds:"
for c in "${cases[@]}"; do
  IFS='|' read -r name _ _ <<<"$c"
  median="$(tr ' ' '\n' <<<"${results[$name]}" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  echo "  $name: $median"
done

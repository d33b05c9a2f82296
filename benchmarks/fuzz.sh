#!/usr/bin/env bash
# Issue 14's long run: starts samples/FraudDetection.Api on loopback (the typed /fraud/score, the fraud model and
# multi_io.onnx on /v2, slow.onnx on the default lane and on a lane of its own for the fairness figures), then runs the harness's fuzz, memory and fairness
# scenarios against it and checks the app is still alive. Figures go to stdout; docs/robustness.md records them.
#   benchmarks/fuzz.sh [requests=100000] [seconds=1800]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-100000}
seconds=${2:-1800}
port=5077
url=http://127.0.0.1:$port
root=$(pwd)

nice -n 10 dotnet build -c Release samples/FraudDetection.Api -v q -nologo >/dev/null
nice -n 10 dotnet build -c Release benchmarks/InProcServe.Fuzz -v q -nologo >/dev/null

log=$(mktemp)
dotnet samples/FraudDetection.Api/bin/Release/net10.0/FraudDetection.Api.dll --urls "$url" \
  --InProcServe:Models:multi_io:Path="$root/models/multi_io.onnx" \
  --InProcServe:Models:slow:Path="$root/models/slow.onnx" \
  --InProcServe:Models:slow_own_lane:Path="$root/models/slow.onnx" --InProcServe:Models:slow_own_lane:Lane=slow \
  >"$log" 2>&1 &
app=$!
trap 'kill $app 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 60); do curl -sf "$url/health/ready" >/dev/null 2>&1 && break; sleep 1; done
echo "ready: $(curl -s "$url/health/ready")"

transaction='{"id": 1, "seconds": 87368.3, "amount": 4.68, "merchantCategory": 3, "country": "JP", "homeCountry": "JP", "cardPresent": true, "transactionsLastHour": 2, "distanceKm": 41, "accountAgeDays": 142}'
fuzz="benchmarks/InProcServe.Fuzz/bin/Release/net10.0/InProcServe.Fuzz"
status=0
nice -n 5 "$fuzz" fuzz --url "$url" --pid "$app" --models "$root/models" --oip Fraud=fraud,multi_io=multi_io \
  --typed /fraud/score --typed-body "$transaction" --requests "$requests" --seconds "$seconds" --concurrency 8 --seed 14 || status=$?
nice -n 5 "$fuzz" memory --url "$url" --pid "$app" --model multi_io || status=$?
# The slow model on the fraud model's lane (the default, "cpu"), then on a lane of its own.
nice -n 5 "$fuzz" fairness --url "$url" --slow slow --typed /fraud/score --typed-body "$transaction" --seconds 10 || status=$?
nice -n 5 "$fuzz" fairness --url "$url" --slow slow_own_lane --typed /fraud/score --typed-body "$transaction" --seconds 10 || status=$?

if kill -0 "$app" 2>/dev/null; then
  echo "the app is alive: $(curl -s "$url/health/ready")"
else
  echo "the app died; its log:"; cat "$log"; status=1
fi
echo "500s logged by the app: $(grep -c 'fail:' "$log" || true)"
exit "$status"

#!/usr/bin/env bash
# Talks to a running `epara serve` with curl only: health, metadata, one JSON inference, one malformed body.
# Usage: curl-smoke.sh http://127.0.0.1:8000   (exits non-zero on the first failed check)
set -euo pipefail
url="${1:?base url}"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect() { # expect <what> <wanted> <got>
  if [[ "$2" != "$3" ]]; then echo "FAIL $1: wanted $2, got $3" >&2; exit 1; fi
  echo "ok   $1"
}

expect 'GET /v2/health/live' 200 "$(status "$url/v2/health/live")"
expect 'GET /v2/health/ready' 200 "$(status "$url/v2/health/ready")"
expect 'GET /v2/models/cls/ready' 200 "$(status "$url/v2/models/cls/ready")"
meta="$(curl -sf "$url/v2/models/cls")"
[[ "$meta" == *'"datatype":"FP32"'* ]] || { echo "FAIL metadata: $meta" >&2; exit 1; }
echo 'ok   GET /v2/models/cls'

# 1×3×48×192 zeros as JSON, built with the shell's printf
zeros="$(printf '0,%.0s' $(seq 1 27647))0"
body="{\"id\":\"curl-1\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"data\":[${zeros}]}]}"
out="$(curl -sf -X POST -H 'content-type: application/json' --data-binary "$body" "$url/v2/models/cls/infer")"
[[ "$out" == *'"id":"curl-1"'* && "$out" == *'"shape":[1,2]'* ]] || { echo "FAIL infer: $out" >&2; exit 1; }
echo 'ok   POST /v2/models/cls/infer (JSON)'

expect 'POST bad JSON' 400 "$(status -X POST -H 'content-type: application/json' --data-binary '{"inputs":' "$url/v2/models/cls/infer")"
expect 'POST unknown model' 404 "$(status -X POST -H 'content-type: application/json' --data-binary "$body" "$url/v2/models/nope/infer")"
echo 'all curl checks passed'

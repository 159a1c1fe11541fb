#!/bin/sh
# demo.sh - `make demo`: a demo instance in demo/ with a generated
# municipality, served on http://127.0.0.1:8080.
set -eu
bin=build/mamori
data=build/demo-data
if [ ! -f demo/mamori.conf ]; then
	echo "== mamori init demo"
	"$bin" init demo --name "みまもり市（デモ）"
	echo "== mamori gen --scale S --seed 1"
	"$bin" gen --scale S --seed 1 --out "$data"
	echo "== mamori import demo $data"
	"$bin" import demo "$data"
	"$bin" apikey create demo demo-console > demo/apikey.out
	chmod 600 demo/apikey.out
fi
key=$(grep -o 'mk_[A-Za-z0-9_-]*' demo/apikey.out | head -n 1)
staff=$(head -n 1 "$data/staff.jsonl" | sed 's/.*"id": *"\([^"]*\)".*/\1/')
cat <<MSG

mamori デモ / mamori demo
  http://127.0.0.1:8080/v1/health
  API key (demo only) / API キー（デモ専用）: $key   (demo/apikey.out)

試す / try:
  curl -s http://127.0.0.1:8080/v1/health
  curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \\
    -d '{"staff_id":"$staff","action":"view","resident_id":"R0000001","system":"juki","zone":"mynumber","mfa":true}' \\
    http://127.0.0.1:8080/v1/decide
  $bin policy show demo
  echo '{"staff_id":"$staff","action":"export","resident_id":"R0000001","system":"juki","zone":"mynumber","mfa":true}' | $bin decide demo

停止は Ctrl-C / stop with Ctrl-C
MSG
exec "$bin" serve demo --listen 127.0.0.1:8080

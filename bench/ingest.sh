#!/bin/sh
# ingest.sh - the ingest rate of access events with durability
# (BENCHMARKS.md, "Ingest of access events"): `mamori ingest` of a file,
# then POST /v1/events over 127.0.0.1 to a running `mamori serve`, in
# batches of --batch events (JSON Lines); every event accepted is in the
# ledger and synced before the answer, and the streaming watcher sees it.
#
#   sh bench/ingest.sh [--events N] [--batch B] [--port P]
#
# The first N events (default 200,000) of the M-scale dataset
# (build/bench-data/M, made with `mamori gen --scale M --seed 1` when
# missing), an instance with its registry (build/bench-out/ingest, made
# afresh), the timed CLI ingest, then loadgen: 20 batches a second for
# 10 s over 2 connections, then the search for the highest rate of batches
# with zero errors, p99 at most 2 s and 95 % of the offered rate achieved
# (each step 3 s). Everything bounded; only 127.0.0.1.
set -eu

cd "$(dirname "$0")/.."
. bench/serve.sh
N=200000
BATCH=1000
PORT=18491
while [ $# -gt 0 ]; do
	case "$1" in
	--events) N=$2; shift ;;
	--batch) BATCH=$2; shift ;;
	--port) PORT=$2; shift ;;
	*) echo "usage: sh bench/ingest.sh [--events N] [--batch B] [--port P]" >&2; exit 2 ;;
	esac
	shift
done

MAMORI=build/mamori
DATA=build/bench-data/M
OUT=build/bench-out/ingest
INST=$OUT/instance
LIBS="-lsqlite3 -lsodium -lcrypto -lmicrohttpd -ljansson -lyaml -lpthread -lm"
make -s "$MAMORI" build/libmamori.a
mkdir -p build/bench
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc -Ibuild/gen bench/loadgen.c build/libmamori.a $LIBS \
	-o build/bench/loadgen
if [ ! -f "$DATA/access.jsonl" ]; then
	echo "== generating the M-scale dataset into $DATA"
	"$MAMORI" gen --scale M --seed 1 --out "$DATA"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
head -n "$N" "$DATA/access.jsonl" >"$OUT/events.jsonl"
echo "== instance with the M registry"
"$MAMORI" init "$INST" --name bench-ingest >/dev/null
"$MAMORI" import "$INST" "$DATA" --quiet

echo "== mamori ingest of $N events"
/usr/bin/time -f "cli_ingest seconds=%e peak_kb=%M" "$MAMORI" ingest "$INST" "$OUT/events.jsonl" \
	2>&1 | tee "$OUT/cli.txt" | tail -2

echo "== POST /v1/events in batches of $BATCH on 127.0.0.1:$PORT"
serve_start "$MAMORI" "$INST" "$PORT" "$OUT/serve.log" bench-ingest
build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" --path /v1/events \
	--requests "$OUT/events.jsonl" --batch "$BATCH" --conns 2 --rate 20 --duration 10 |
	tee "$OUT/http_fixed.txt"
build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" --path /v1/events \
	--requests "$OUT/events.jsonl" --batch "$BATCH" --conns 4 --search --p99-max-ms 2000 \
	--start 10 --step-seconds 3 --max-rate 5000 | tee "$OUT/http_search.txt"
serve_stop
"$MAMORI" verify "$INST" | tail -1

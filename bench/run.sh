#!/bin/sh
# run.sh - mamori's decision benchmarks, everything in one run (BENCHMARKS.md).
#
#   bench/run.sh [--quick] [--data DATADIR] [--n N] [--seed S] [--repeat R]
#                [--skip-http] [--rate R] [--duration S] [--p99-max-ms M]
#                [--peers-only]
#
# --peers-only runs only the JS engines and their comparison (no make, no
# mamori; needs --data or an existing dataset), for trying the peers while
# mamori does not build.
# Default: an M-scale dataset in build/bench-data/M (generated with
# `mamori gen --scale M --seed 1` if missing), requests from its first
# 1,000,000 access events. --quick: S scale and 100,000 requests.
#
# Steps: make; the requests; mamori in-process (bench_decide, one core);
# plain JS, Casbin and Cedar over the same requests; the comparison of every
# decision; a fresh instance served on 127.0.0.1 and the HTTP load generator
# (fixed rate, then the search for the highest sustainable rate); a summary
# table. Outputs go to build/bench-out/.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SCALE=M
N=1000000
SEED=1
REPEAT=5
PEER_REPEAT=3
DATA=
HTTP=1
MAMORI_RUN=1
RATE=2000
DURATION=10
P99MAX=10
PORT=18473

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) SCALE=S; N=100000; DURATION=5 ;;
	--data) DATA=$2; shift ;;
	--n) N=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--skip-http) HTTP=0 ;;
	--peers-only) MAMORI_RUN=0; HTTP=0 ;;
	--rate) RATE=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--p99-max-ms) P99MAX=$2; shift ;;
	*) echo "usage: bench/run.sh [--quick] [--data DIR] [--n N] [--seed S] [--repeat R] [--skip-http] [--rate R] [--duration S] [--p99-max-ms M]" >&2; exit 2 ;;
	esac
	shift
done

# M scale holds ~10^6 residents and their cases in JS Maps.
NODE_OPTIONS="--max-old-space-size=8192"
export NODE_OPTIONS

OUT=$ROOT/build/bench-out
INST=$OUT/instance
mkdir -p "$OUT"
[ -n "$DATA" ] || DATA=$ROOT/build/bench-data/$SCALE

step() { printf '\n== %s\n' "$*"; }
# The result line of an engine must be there (tee hides the exit status).
check() { grep -q decisions_per_s "$OUT/$1.res" || { echo "$1 failed" >&2; exit 1; }; }

if [ "$MAMORI_RUN" = 1 ]; then
step "build (make)"
make -j2 >"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log"; exit 1; }
MAMORI=$ROOT/build/mamori
CFLAGS_B="-std=c11 -Wall -Wextra -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Wformat=2 -Wno-format-nonliteral -Werror -O2 -g -D_GNU_SOURCE -Isrc -Ibuild/gen"
LIBS="$(pkg-config --libs sqlite3 libsodium libmicrohttpd jansson yaml-0.1) -lpthread -lm"
mkdir -p build/bench
# shellcheck disable=SC2086
cc $CFLAGS_B $(pkg-config --cflags sqlite3 libsodium libmicrohttpd jansson yaml-0.1) \
	bench/bench_decide.c build/libmamori.a $LIBS -o build/bench/bench_decide
# shellcheck disable=SC2086
cc $CFLAGS_B bench/loadgen.c build/libmamori.a $LIBS -o build/bench/loadgen
fi

if [ ! -d bench/peers/node_modules ]; then
	step "npm ci (bench/peers)"
	(cd bench/peers && npm ci --no-audit --no-fund)
fi

if [ ! -f "$DATA/access.jsonl" ]; then
	[ "$MAMORI_RUN" = 1 ] || { echo "no dataset in $DATA" >&2; exit 1; }
	step "dataset: mamori gen --scale $SCALE --seed $SEED --out $DATA"
	mkdir -p "$(dirname "$DATA")"
	"$MAMORI" gen --scale "$SCALE" --seed "$SEED" --out "$DATA"
fi

step "requests: first $N access events of $DATA"
RQ=$OUT/requests.jsonl
node bench/make_requests.js --data "$DATA" --n "$N" --seed "$SEED" --out "$RQ"

if [ "$MAMORI_RUN" = 1 ]; then
step "fresh instance: init + import (registry files; the access events are not needed)"
rm -rf "$INST" "$OUT/registry"
mkdir -p "$OUT/registry"
for f in systems departments staff residents cases overtime; do
	if [ -f "$DATA/$f.jsonl" ]; then ln -s "$DATA/$f.jsonl" "$OUT/registry/$f.jsonl"; fi
done
"$MAMORI" init "$INST" --name bench >"$OUT/init.log" 2>&1 || { cat "$OUT/init.log"; exit 1; }
"$MAMORI" import "$INST" "$OUT/registry" >"$OUT/import.log" 2>&1 || { tail -20 "$OUT/import.log"; exit 1; }

step "mamori in-process (one core, best of $REPEAT)"
build/bench/bench_decide "$INST" "$RQ" --out "$OUT/mamori.txt" --repeat "$REPEAT" | tee "$OUT/mamori.res"
check mamori
else
	rm -f "$OUT/mamori.res" "$OUT/mamori.txt"
fi

step "plain JS (best of $PEER_REPEAT)"
node bench/peers/plainjs_bench.js --data "$DATA" --requests "$RQ" --out "$OUT/plainjs.txt" --repeat "$PEER_REPEAT" | tee "$OUT/plainjs.res"
check plainjs
step "Casbin (best of $PEER_REPEAT)"
node bench/peers/casbin_bench.js --data "$DATA" --requests "$RQ" --out "$OUT/casbin.txt" --repeat "$PEER_REPEAT" | tee "$OUT/casbin.res"
check casbin
# Cedar's wasm runs ~10^3-10^4 decisions/s: one pass is minutes at 10^6.
step "Cedar (one pass)"
node bench/peers/cedar_bench.js --data "$DATA" --requests "$RQ" --out "$OUT/cedar.txt" --repeat 1 | tee "$OUT/cedar.res"
check cedar

step "agreement (reference: plain JS)"
AGREE=ok
MAMORI_CMP=""
[ "$MAMORI_RUN" = 0 ] || MAMORI_CMP="mamori=$OUT/mamori.txt:obl"
# shellcheck disable=SC2086
node bench/compare.js --requests "$RQ" plainjs="$OUT/plainjs.txt" $MAMORI_CMP \
	casbin="$OUT/casbin.txt:decision" cedar="$OUT/cedar.txt:cedar" \
	>"$OUT/compare.txt" || AGREE=DISAGREE
cat "$OUT/compare.txt"
if [ "$MAMORI_RUN" = 1 ]; then
	# Reason codes are names each engine chose; a mismatch here is a naming
	# or reason-listing difference, reported but not counted as a decision
	# disagreement.
	node bench/compare.js --requests "$RQ" plainjs="$OUT/plainjs.txt" \
		mamori="$OUT/mamori.txt:full" >"$OUT/compare_codes.txt" || true
	tail -1 "$OUT/compare_codes.txt"
fi

FIXED="" SEARCH=""
if [ "$HTTP" = 1 ]; then
	step "HTTP on 127.0.0.1:$PORT"
	KEY=$("$MAMORI" apikey create "$INST" bench 2>&1 | grep -o 'mk_[A-Za-z0-9_-]*' | head -1)
	[ -n "$KEY" ] || { echo "no API key from mamori apikey create" >&2; exit 1; }
	"$MAMORI" serve "$INST" --listen "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
	SERVER=$!
	trap 'kill "$SERVER" 2>/dev/null || true' EXIT INT TERM
	i=0
	# curl exits 7 while nothing listens; any HTTP answer means it is up.
	until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" || [ $? -ne 7 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "server did not start" >&2; cat "$OUT/serve.log"; exit 1; }
		sleep 0.1
	done
	# At most 100k distinct bodies: enough variety, bounded memory.
	head -n 100000 "$RQ" >"$OUT/http_requests.jsonl"
	build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" \
		--requests "$OUT/http_requests.jsonl" --conns 16 --rate "$RATE" \
		--duration "$DURATION" | tee "$OUT/http_fixed.txt"
	build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" \
		--requests "$OUT/http_requests.jsonl" --conns 32 --search \
		--p99-max-ms "$P99MAX" --start 1000 --step-seconds 3 | tee "$OUT/http_search.txt"
	kill "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
	trap - EXIT INT TERM
	FIXED=$(grep '^fixed' "$OUT/http_fixed.txt" || true)
	SEARCH=$(grep '^max_sustainable' "$OUT/http_search.txt" || true)
fi

step "summary"
node - "$OUT" "$N" "$AGREE" "$FIXED" "$SEARCH" <<'EOF'
const fs = require('fs');
const [out, n, agree, fixed, search] = process.argv.slice(2);
const rate = (name) => {
  if (!fs.existsSync(`${out}/${name}.res`)) return NaN;
  const m = /decisions_per_s=(\d+)/.exec(fs.readFileSync(`${out}/${name}.res`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};
const r = { mamori: rate('mamori'), plainjs: rate('plainjs'), casbin: rate('casbin'), cedar: rate('cedar') };
const fmt = (x) => x.toLocaleString('en-US');
console.log(`requests: ${n}`);
console.log('| engine | decisions/s (one core) | mamori / engine | engine / Casbin |');
console.log('|---|---:|---:|---:|');
for (const k of ['mamori', 'plainjs', 'casbin', 'cedar'])
  console.log(`| ${k} | ${Number.isNaN(r[k]) ? '-' : fmt(r[k])} | ${Number.isNaN(r.mamori) ? '-' : (r.mamori / r[k]).toFixed(1) + 'x'} | ${(r[k] / r.casbin).toFixed(3)}x |`);
const faster = Math.max(r.casbin, r.cedar);
console.log(`mamori / faster peer: ${(r.mamori / faster).toFixed(1)}x (goal: >= 50x)`);
console.log(`agreement: ${agree}`);
if (fixed) console.log(`HTTP fixed rate: ${fixed}`);
if (search) console.log(`HTTP highest sustainable: ${search}`);
EOF

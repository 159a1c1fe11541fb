#!/bin/sh
# run.sh - mamori's benchmarks, everything in one run (BENCHMARKS.md):
# decisions, then the ledger (bench/ledger.sh), then both summaries.
#
#   bench/run.sh [--quick] [--data DATADIR] [--n N] [--seed S] [--repeat R]
#                [--skip-http] [--rate R] [--duration S] [--p99-max-ms M]
#                [--peers-only] [--skip-ledger] [--ledger-only]
#
# --ledger-only runs only bench/ledger.sh (durable appends and the SQLite
# peer, the hashing limit, verification, proofs at 10^8 leaves; --quick
# passes on); --skip-ledger leaves it out.
# --peers-only runs only the JS engines and their comparison (no make, no
# mamori; needs --data or an existing dataset), for trying the peers while
# mamori does not build.
# --watch-only runs only the watch section (make, then mamori audit against
# DuckDB over the dataset's access events); --skip-watch leaves it out.
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
. bench/serve.sh
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
WATCH=1
WATCH_ONLY=0
LEDGER=1
QUICK=0

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) SCALE=S; N=100000; DURATION=5; QUICK=1 ;;
	--data) DATA=$2; shift ;;
	--n) N=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--skip-http) HTTP=0 ;;
	--peers-only) MAMORI_RUN=0; HTTP=0; WATCH=0 ;;
	--watch-only) WATCH_ONLY=1 ;;
	--skip-watch) WATCH=0 ;;
	--rate) RATE=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--p99-max-ms) P99MAX=$2; shift ;;
	--skip-ledger) LEDGER=0 ;;
	--ledger-only) LEDGER=2 ;;
	*) echo "usage: bench/run.sh [--quick] [--data DIR] [--n N] [--seed S] [--repeat R] [--skip-http] [--rate R] [--duration S] [--p99-max-ms M] [--peers-only] [--skip-ledger] [--ledger-only]" >&2; exit 2 ;;
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

LEDGER_ARGS=""
[ "$QUICK" = 0 ] || LEDGER_ARGS="--quick"
if [ "$LEDGER" = 2 ]; then
	# shellcheck disable=SC2086
	exec sh bench/ledger.sh $LEDGER_ARGS
fi
# The result line of an engine must be there (tee hides the exit status).
check() { grep -q decisions_per_s "$OUT/$1.res" || { echo "$1 failed" >&2; exit 1; }; }

if [ "$MAMORI_RUN" = 1 ]; then
step "build (make)"
make -j2 >"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log"; exit 1; }
MAMORI=$ROOT/build/mamori
CFLAGS_B="-std=c11 -Wall -Wextra -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Wformat=2 -Wno-format-nonliteral -Werror -O2 -g -D_GNU_SOURCE -Isrc -Ibuild/gen"
LIBS="$(pkg-config --libs sqlite3 libsodium libmicrohttpd jansson yaml-0.1 libqrencode libcrypto) -lpthread -lm"
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

# ---- watch: mamori audit against DuckDB (BENCHMARKS.md, "Watch") ----
# Both on one core (taskset -c 0 when there is taskset), peak memory from
# /usr/bin/time -v, over the same access.jsonl and registry files. DuckDB
# runs the rules written as SQL (bench/peers/duckdb_audit.js) with one
# thread and a memory limit of $DUCKDB_MEM, twice: all 13 rules (--rules
# all, the comparison of the same work) and the 8 that need no explanation
# of the access (--rules shared, the figure of earlier runs); the flagged
# events of every rule must be the same as mamori's. A second, small pass
# (S scale) runs both with a non-default watch: section in the policy file
# (every threshold the content, scanning and namesake steps use, and the
# print and search rules, which the default thresholds leave silent on
# generated data). Bounded: WATCH_ROUNDS (default 3)
# audits of each engine, taking turns, and one precision query at the
# dataset's scale; two audits at S.
WATCH_SUMMARY=""
if [ "$WATCH" = 1 ]; then
	step "watch: mamori audit vs DuckDB over $DATA"
	DUCKDB_MEM=${DUCKDB_MEM:-12GB}
	PIN=""
	if command -v taskset >/dev/null 2>&1; then PIN="taskset -c 0"; fi
	TIMEV=/usr/bin/time
	[ -x "$TIMEV" ] || { echo "watch: needs /usr/bin/time (GNU time) for peak memory" >&2; exit 1; }
	[ -d bench/peers/node_modules/@duckdb/node-api ] || (cd bench/peers && npm ci --no-audit --no-fund)
	# An instance holding a dataset's registry, kept between runs (the
	# import of 1.5 million cases is not what is measured).
	winst() { # DIR DATA
		if [ ! -f "$1/.imported" ] || [ "$(cat "$1/.imported")" != "$2" ]; then
			rm -rf "$1" "$1.reg"
			mkdir -p "$1.reg"
			for f in systems departments staff residents cases overtime; do
				if [ -f "$2/$f.jsonl" ]; then ln -s "$2/$f.jsonl" "$1.reg/$f.jsonl"; fi
			done
			"$MAMORI" init "$1" --name bench-watch >/dev/null
			"$MAMORI" import "$1" "$1.reg" --quiet
			printf '%s' "$2" >"$1/.imported"
		fi
		# An instance made before the registry image: importing the
		# same files again changes no row, brings the schema up to
		# date, stamps the registry and writes the image.
		if [ ! -f "$1/mamori.db-registry" ]; then
			"$MAMORI" import "$1" "$1.reg" --quiet
		fi
	}
	winst "$OUT/watch-instance" "$DATA"
	# The two engines take turns, WATCH_ROUNDS times (default 3): a slow
	# stretch of the shared machine then falls on both, and the summary
	# compares medians.
	WATCH_ROUNDS=${WATCH_ROUNDS:-3}
	rm -f "$OUT"/watch_mamori.*.time "$OUT"/watch_duckdb.*.time "$OUT"/watch_duckdb_all.*.time
	rnd=1
	while [ "$rnd" -le "$WATCH_ROUNDS" ]; do
		# shellcheck disable=SC2086
		$TIMEV -v $PIN "$MAMORI" audit "$OUT/watch-instance" --events "$DATA/access.jsonl" --json \
			>"$OUT/watch_mamori.jsonl" 2>"$OUT/watch_mamori.$rnd.time" ||
			{ tail -20 "$OUT/watch_mamori.$rnd.time"; exit 1; }
		# shellcheck disable=SC2086
		$TIMEV -v $PIN node bench/peers/duckdb_audit.js --data "$DATA" --out "$OUT/watch_duckdb.tsv" \
			--threads 1 --memory-limit "$DUCKDB_MEM" >"$OUT/watch_duckdb.res" \
			2>"$OUT/watch_duckdb.$rnd.time" ||
			{ tail -20 "$OUT/watch_duckdb.$rnd.time"; exit 1; }
		cat "$OUT/watch_duckdb.res"
		# shellcheck disable=SC2086
		$TIMEV -v $PIN node bench/peers/duckdb_audit.js --data "$DATA" --out "$OUT/watch_duckdb_all.tsv" \
			--rules all --threads 1 --memory-limit "$DUCKDB_MEM" >"$OUT/watch_duckdb_all.res" \
			2>"$OUT/watch_duckdb_all.$rnd.time" ||
			{ tail -20 "$OUT/watch_duckdb_all.$rnd.time"; exit 1; }
		cat "$OUT/watch_duckdb_all.res"
		rnd=$((rnd + 1))
	done
	WAGREE=same
	node bench/peers/duckdb_compare.js --mamori "$OUT/watch_mamori.jsonl" \
		--duckdb "$OUT/watch_duckdb.tsv" >"$OUT/watch_compare.txt" || WAGREE=DIFFER
	cat "$OUT/watch_compare.txt"
	node bench/peers/duckdb_compare.js --mamori "$OUT/watch_mamori.jsonl" \
		--duckdb "$OUT/watch_duckdb_all.tsv" >"$OUT/watch_compare_all.txt" || WAGREE=DIFFER
	cat "$OUT/watch_compare_all.txt"
	# The plain "same-department case" rule against the labels (not timed).
	if [ -f "$DATA/labels.jsonl" ]; then
		node bench/peers/duckdb_audit.js --data "$DATA" --out "$OUT/watch_duckdb_lab.tsv" \
			--threads 1 --memory-limit "$DUCKDB_MEM" --labels "$DATA/labels.jsonl" |
			grep same_department_rule | tee "$OUT/watch_samedept.txt"
	fi
	# Non-default thresholds: set in the policy file, and given to DuckDB.
	SDATA=$ROOT/build/bench-data/S
	if [ ! -f "$SDATA/access.jsonl" ]; then
		"$MAMORI" gen --scale S --seed "$SEED" --out "$SDATA" >/dev/null
	fi
	winst "$OUT/watch-instance-s" "$SDATA"
	cp "$OUT/watch-instance-s/policy.yaml" "$OUT/watch-policy.orig"
	awk 'BEGIN { done = 0 } { print } /^version: 1$/ && !done {
		print "watch:"; print "  office_open: \"09:00\""; print "  training_valid_days: 200";
		print "  case_grace: 3d"; print "  export_floor: 1"; print "  export_factor: 1.5";
		print "  print_floor: 1"; print "  print_factor: 1.5"; print "  search_floor: 1";
		print "  search_factor: 1.5"; print "  min_peers: 2";
		print "  counter_flow: 10min"; print "  namesake_window: 20min"; print "  namesake_max: 3";
		print "  recent_case: 12h"; print "  scan_window: 30min"; print "  scan_gap: 2min";
		print "  scan_floor: 10"; print "  scan_factor: 2"; done = 1 }' \
		"$OUT/watch-policy.orig" >"$OUT/watch-instance-s/policy.yaml"
	"$MAMORI" audit "$OUT/watch-instance-s" --events "$SDATA/access.jsonl" --json \
		>"$OUT/watch_mamori_s.jsonl" 2>"$OUT/watch_mamori_s.err" || WAGREE=DIFFER
	cp "$OUT/watch-policy.orig" "$OUT/watch-instance-s/policy.yaml"
	node bench/peers/duckdb_audit.js --data "$SDATA" --out "$OUT/watch_duckdb_s.tsv" --rules all \
		--thresholds '{"office_open":32400,"training_valid_days":200,"case_grace":259200,"export_floor":1,"export_factor":1.5,"print_floor":1,"print_factor":1.5,"search_floor":1,"search_factor":1.5,"min_peers":2,"counter_flow":600,"namesake_window":1200,"namesake_max":3,"recent_case":43200,"scan_window":1800,"scan_gap":120,"scan_floor":10,"scan_factor":2}' \
		>/dev/null
	node bench/peers/duckdb_compare.js --mamori "$OUT/watch_mamori_s.jsonl" \
		--duckdb "$OUT/watch_duckdb_s.tsv" >"$OUT/watch_compare_s.txt" || WAGREE=DIFFER
	cat "$OUT/watch_compare_s.txt"
	WATCH_SUMMARY=$(node - "$OUT" "$WAGREE" "$WATCH_ROUNDS" <<'EOF'
const fs = require('fs');
const [out, agree, rounds] = process.argv.slice(2);
const tv = (f) => {
  const t = fs.readFileSync(`${out}/${f}`, 'utf8');
  const el = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(t);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(t);
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(t)[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(t)[1]);
  return { s: Number(el[1] || 0) * 3600 + Number(el[2]) * 60 + Number(el[3]), mb: Number(rss[1]) / 1024, cpu };
};
const n = Number(/events=(\d+)/.exec(fs.readFileSync(`${out}/watch_duckdb.res`, 'utf8'))[1]);
const runs = (e) => Array.from({ length: Number(rounds) }, (_, i) => tv(`watch_${e}.${i + 1}.time`));
// The run of median wall time (its CPU time and memory with it).
const med = (v) => [...v].sort((a, b) => a.s - b.s)[(v.length - 1) >> 1];
const mr = runs('mamori'), dr = runs('duckdb'), ar = runs('duckdb_all');
const m = med(mr), d = med(dr), da = med(ar);
const f = (x) => Math.round(x).toLocaleString('en-US');
const sd = fs.existsSync(`${out}/watch_samedept.txt`) ? fs.readFileSync(`${out}/watch_samedept.txt`, 'utf8').trim() : '';
console.log([
  `watch audit of ${n.toLocaleString('en-US')} events, one core, loading included; ${rounds} rounds taking turns, the run of median wall time:`,
  '| engine | rules | wall s | events/s (wall) | CPU s (user+sys) | events per CPU s | peak memory (MB) |',
  '|---|---:|---:|---:|---:|---:|---:|',
  `| mamori audit --events | 13 | ${m.s.toFixed(1)} | ${f(n / m.s)} | ${m.cpu.toFixed(1)} | ${f(n / m.cpu)} | ${f(m.mb)} |`,
  `| DuckDB (SQL, 1 thread, --rules all) | 13 | ${da.s.toFixed(1)} | ${f(n / da.s)} | ${da.cpu.toFixed(1)} | ${f(n / da.cpu)} | ${f(da.mb)} |`,
  `| DuckDB (SQL, 1 thread, --rules shared) | 8 | ${d.s.toFixed(1)} | ${f(n / d.s)} | ${d.cpu.toFixed(1)} | ${f(n / d.cpu)} | ${f(d.mb)} |`,
  `every round (wall s): mamori ${mr.map((x) => x.s.toFixed(1)).join(', ')}; DuckDB all rules ${ar.map((x) => x.s.toFixed(1)).join(', ')}; DuckDB 8 rules ${dr.map((x) => x.s.toFixed(1)).join(', ')}`,
  `mamori / DuckDB, the same 13 rules: ${(da.s / m.s).toFixed(2)}x wall, ${(da.cpu / m.cpu).toFixed(2)}x CPU (goal >= 10x); memory ${(m.mb / da.mb).toFixed(3)} (goal <= 0.25)`,
  `mamori (13 rules) / DuckDB (8 rules): ${(d.s / m.s).toFixed(2)}x wall, ${(d.cpu / m.cpu).toFixed(2)}x CPU; memory ${(m.mb / d.mb).toFixed(3)}`,
  `flagged events, every rule (defaults at this scale, and non-default thresholds at S): ${agree}`,
  sd,
].join('\n'));
EOF
)
	echo "$WATCH_SUMMARY"
	if [ "$WATCH_ONLY" = 1 ]; then
		[ "$WAGREE" = same ] || exit 1
		exit 0
	fi
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
	serve_start "$MAMORI" "$INST" "$PORT" "$OUT/serve.log" bench
	# At most 100k distinct bodies: enough variety, bounded memory.
	head -n 100000 "$RQ" >"$OUT/http_requests.jsonl"
	build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" \
		--requests "$OUT/http_requests.jsonl" --conns 16 --rate "$RATE" \
		--duration "$DURATION" | tee "$OUT/http_fixed.txt"
	build/bench/loadgen --host 127.0.0.1 --port "$PORT" --key "$KEY" \
		--requests "$OUT/http_requests.jsonl" --conns 32 --search \
		--p99-max-ms "$P99MAX" --start 1000 --step-seconds 3 | tee "$OUT/http_search.txt"
	serve_stop
	FIXED=$(grep '^fixed' "$OUT/http_fixed.txt" || true)
	SEARCH=$(grep '^max_sustainable' "$OUT/http_search.txt" || true)
fi

if [ "$LEDGER" = 1 ]; then
	step "ledger benchmarks (bench/ledger.sh $LEDGER_ARGS; log in $OUT/ledger.log)"
	# shellcheck disable=SC2086
	sh bench/ledger.sh $LEDGER_ARGS >"$OUT/ledger.log" 2>&1 || { tail -30 "$OUT/ledger.log"; exit 1; }
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
if [ "$LEDGER" = 1 ]; then
	echo
	echo "Ledger (bench/ledger.sh $LEDGER_ARGS):"
	cat "$OUT/ledger/summary.md"
fi
[ -z "$WATCH_SUMMARY" ] || printf '\n%s\n' "$WATCH_SUMMARY"

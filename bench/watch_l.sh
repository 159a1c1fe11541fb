#!/bin/sh
# watch_l.sh - the watch benchmark at L scale (BENCHMARKS.md, "Watch ... L
# scale"): mamori audit against DuckDB over the same 100 million access
# events, one core each, then mamori's precision and recall at that scale.
#
#   sh bench/watch_l.sh [--seed S] [--duckdb-timeout SECONDS]
#                       [--duckdb-rules all|shared]
#
# Steps, each bounded: the dataset (`mamori gen --scale L`, about 20 GB,
# kept in build/bench-data/L for the next run), an instance with its
# registry (kept in build/bench-out/watch-instance-L), the timed mamori
# audit, the timed DuckDB run (every rule, or with --duckdb-rules shared
# the eight that need no explanation of the access; killed after
# --duckdb-timeout, default 5,400 s; memory_limit 12GB as at M scale),
# the comparison of the flagged events, and an untimed `mamori audit
# --labels`. Outputs: build/bench-out/watch_*_L.*. Needs about 30 GB of
# disk, and DuckDB's spill on top: with every rule it passed 41 GB before
# it had finished the explanation (BENCHMARKS.md), and its
# max_temp_directory_size did not bound it, so the script runs DuckDB with
# every rule only when at least DUCKDB_DISK_GB (default 80) GB are free
# under build/, and says so otherwise. `rm -rf build/bench-data/L
# build/bench-out/watch-instance-L` frees the 30 GB.
set -eu

cd "$(dirname "$0")/.."
SEED=1
DTIMEOUT=5400
DRULES=all
while [ $# -gt 0 ]; do
	case "$1" in
	--seed) SEED=$2; shift ;;
	--duckdb-timeout) DTIMEOUT=$2; shift ;;
	--duckdb-rules) DRULES=$2; shift ;;
	*) echo "usage: sh bench/watch_l.sh [--seed S] [--duckdb-timeout SECONDS] [--duckdb-rules all|shared]" >&2; exit 2 ;;
	esac
	shift
done

MAMORI=build/mamori
DATA=build/bench-data/L
OUT=build/bench-out
INST=$OUT/watch-instance-L
PIN=""
if command -v taskset >/dev/null 2>&1; then PIN="taskset -c 0"; fi
mkdir -p "$OUT"
make -s "$MAMORI"
[ -d bench/peers/node_modules/@duckdb/node-api ] || (cd bench/peers && npm ci --no-audit --no-fund)

if [ ! -f "$DATA/access.jsonl" ] || [ ! -f "$DATA/.seed-$SEED" ]; then
	echo "== generating the L-scale dataset (seed $SEED) into $DATA"
	rm -rf "$DATA"
	/usr/bin/time -f "gen: %e s, peak %M KB" "$MAMORI" gen --scale L --seed "$SEED" --out "$DATA"
	touch "$DATA/.seed-$SEED"
fi
if [ ! -f "$INST/.imported" ] || [ "$(cat "$INST/.imported")" != "$DATA $SEED" ]; then
	echo "== importing its registry into $INST"
	rm -rf "$INST" "$INST.reg"
	mkdir -p "$INST.reg"
	for f in systems departments staff residents cases overtime; do
		ln -s "$(pwd)/$DATA/$f.jsonl" "$INST.reg/$f.jsonl"
	done
	"$MAMORI" init "$INST" --name bench-watch-L >/dev/null
	/usr/bin/time -f "import: %e s, peak %M KB" "$MAMORI" import "$INST" "$INST.reg" --quiet
	printf '%s' "$DATA $SEED" >"$INST/.imported"
fi
# An instance made before the registry image: importing the same files
# again changes no row, brings the schema up to date, stamps the registry
# and writes the image (about 3.5 minutes at L).
if [ ! -f "$INST/mamori.db-registry" ]; then
	echo "== stamping the registry of $INST"
	"$MAMORI" import "$INST" "$INST.reg" --quiet
fi

echo "== mamori audit (one core)"
# shellcheck disable=SC2086
/usr/bin/time -v $PIN "$MAMORI" audit "$INST" --events "$DATA/access.jsonl" --json \
	>"$OUT/watch_mamori_L.jsonl" 2>"$OUT/watch_mamori_L.time"
grep -E "Elapsed|Maximum resident|User time|System time" "$OUT/watch_mamori_L.time"

echo "== DuckDB (--rules $DRULES, one thread, memory_limit 12GB, at most $DTIMEOUT s)"
DRC=0
FREE_GB=$(df -Pk build | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$DRULES" = all ] && [ "$FREE_GB" -lt "${DUCKDB_DISK_GB:-80}" ]; then
	echo "DuckDB with every rule needs about ${DUCKDB_DISK_GB:-80} GB free for its spill; $FREE_GB GB are." \
		"Free some, or run --duckdb-rules shared." | tee "$OUT/watch_compare_L.txt"
	exit 1
fi
# shellcheck disable=SC2086
timeout "$DTIMEOUT" /usr/bin/time -v $PIN node bench/peers/duckdb_audit.js --data "$DATA" \
	--out "$OUT/watch_duckdb_L.tsv" --rules "$DRULES" --threads 1 --memory-limit 12GB \
	--max-temp 20GB --profile \
	>"$OUT/watch_duckdb_L.res" 2>"$OUT/watch_duckdb_L.time" || DRC=$?
# A DuckDB killed by the timeout leaves its spill files behind.
rm -rf build/duckdb-tmp
cat "$OUT/watch_duckdb_L.res"
grep -E "Elapsed|Maximum resident|User time|System time" "$OUT/watch_duckdb_L.time" || true
if [ "$DRC" = 0 ]; then
	node bench/peers/duckdb_compare.js --mamori "$OUT/watch_mamori_L.jsonl" \
		--duckdb "$OUT/watch_duckdb_L.tsv" | tee "$OUT/watch_compare_L.txt"
else
	echo "DuckDB did not finish (exit $DRC; 124 is the timeout)" | tee "$OUT/watch_compare_L.txt"
	tail -5 "$OUT/watch_duckdb_L.time"
fi

echo "== mamori audit --labels (not timed)"
"$MAMORI" audit "$INST" --events "$DATA/access.jsonl" --labels "$DATA/labels.jsonl" --quiet \
	>"$OUT/watch_labels_L.txt" 2>&1
cat "$OUT/watch_labels_L.txt"

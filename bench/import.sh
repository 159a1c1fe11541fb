#!/bin/sh
# import.sh - import rate of the registry at L scale (2,000,000 residents,
# 5,000 staff and their cases), with peak memory (BENCHMARKS.md).
#
#   sh bench/import.sh [--scale S|M|L] [--seed N]
#
# Generates the dataset with `mamori gen` (the cases come with the access
# events, so the whole scale is generated: at L about 20 GB of events,
# which are deleted once generated: they are not imported), imports them into a fresh instance, then imports the same files again
# (which must change nothing) and reports lines per second for each run
# and the peak resident memory from /usr/bin/time.
set -eu
cd "$(dirname "$0")/.."
SCALE=L
SEED=1
while [ $# -gt 0 ]; do
	case "$1" in
	--scale) SCALE=$2; shift ;;
	--seed) SEED=$2; shift ;;
	*) echo "usage: bench/import.sh [--scale S|M|L] [--seed N]" >&2; exit 2 ;;
	esac
	shift
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
make -j2 >/dev/null
DATA=build/bench-data/$SCALE-registry
OUT=build/bench-out/import-$SCALE
mkdir -p build/bench-data "$OUT"
if [ ! -f "$DATA/cases.jsonl" ]; then
	/usr/bin/time -f "%e %M" -o "$OUT/time.gen" build/mamori gen --scale "$SCALE" --seed "$SEED" --out "$DATA" --quiet
	read -r secs kb <"$OUT/time.gen"
	echo "gen --scale $SCALE: seconds=$secs peak_rss_mb=$((kb / 1024))"
fi
rm -f "$DATA/access.jsonl" "$DATA/labels.jsonl"
lines=$(cat "$DATA"/*.jsonl | wc -l)
for f in "$DATA"/*.jsonl; do printf '%s: %s lines, %s bytes\n' "$(basename "$f")" "$(wc -l <"$f")" "$(wc -c <"$f")"; done
rm -rf "$OUT/inst"
build/mamori init "$OUT/inst" --name bench >/dev/null
for run in first again; do
	/usr/bin/time -f "%e %M" -o "$OUT/time.$run" build/mamori import "$OUT/inst" "$DATA" --quiet
	read -r secs kb <"$OUT/time.$run"
	awk -v run="$run" -v l="$lines" -v s="$secs" -v kb="$kb" 'BEGIN {
		printf "import %-5s lines=%d seconds=%.1f lines_per_s=%.0f peak_rss_mb=%.0f\n",
			run, l, s, l / s, kb / 1024 }'
done
ls -l "$OUT/inst/mamori.db" | awk '{ printf "database: %.0f MB\n", $5 / 1048576 }'

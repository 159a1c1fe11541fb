#!/bin/sh
# passes.sh - the commands that read the whole ledger (BENCHMARKS.md,
# "Whole-ledger passes"): `mamori audit DIR` over the ledger, `mamori
# explain DIR --ref REF` and `mamori disclose DIR RESIDENT`, on an
# instance whose ledger holds the first N access events of the M-scale
# dataset.
#
#   sh bench/passes.sh [--events N] [--runs R] [--compare OTHER_MAMORI]
#
# The instance (build/bench-out/passes: init, the M registry imported, N
# events ingested, one checkpoint made by a short `mamori serve` on
# 127.0.0.1) is made once per N and kept. Each command runs R times
# (default 2); with --compare, OTHER_MAMORI (e.g. the binary of an older
# commit) runs each command too, interleaved with build/mamori, and the
# outputs of both are compared byte for byte. Times are /usr/bin/time's
# (wall, user, system seconds; peak KB).
set -eu

cd "$(dirname "$0")/.."
. bench/serve.sh
N=1000000
RUNS=2
OTHER=
PORT=18493
while [ $# -gt 0 ]; do
	case "$1" in
	--events) N=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--compare) OTHER=$2; shift ;;
	*) echo "usage: sh bench/passes.sh [--events N] [--runs R] [--compare OTHER_MAMORI]" >&2; exit 2 ;;
	esac
	shift
done

MAMORI=build/mamori
DATA=build/bench-data/M
OUT=build/bench-out/passes
INST=$OUT/instance
make -s "$MAMORI"
if [ ! -f "$DATA/access.jsonl" ]; then
	echo "== generating the M-scale dataset into $DATA"
	"$MAMORI" gen --scale M --seed 1 --out "$DATA"
fi
if [ ! -f "$OUT/.ready" ] || [ "$(cat "$OUT/.ready")" != "$N" ]; then
	rm -rf "$OUT"
	mkdir -p "$OUT"
	echo "== instance with the M registry and $N events"
	"$MAMORI" init "$INST" --name bench-passes >/dev/null
	"$MAMORI" import "$INST" "$DATA" --quiet
	head -n "$N" "$DATA/access.jsonl" >"$OUT/events.jsonl"
	"$MAMORI" ingest "$INST" "$OUT/events.jsonl" >/dev/null
	# A signed checkpoint, which a disclosure needs (the server makes one
	# as it starts).
	serve_start "$MAMORI" "$INST" "$PORT" "$OUT/serve.log" bench-passes
	serve_stop
	printf '%s' "$N" >"$OUT/.ready"
fi
# An instance made before the registry image: importing the same files
# again changes no row, brings the schema up to date, stamps the registry
# and writes the image.
if [ ! -f "$INST/mamori.db-registry" ]; then
	"$MAMORI" import "$INST" "$DATA" --quiet
fi
# An access from the middle of the events, its resident, and a member of
# staff who may disclose (role clerk).
LINE=$(sed -n "$((N / 2))p" "$OUT/events.jsonl")
REF=$(printf '%s' "$LINE" | sed 's/.*"ref":"\([^"]*\)".*/\1/')
RES=$(printf '%s' "$LINE" | sed 's/.*"resident_id":"\([^"]*\)".*/\1/')
BY=$(grep '"clerk"' "$DATA/staff.jsonl" | head -1 | sed 's/.*"id":"\([^"]*\)".*/\1/')
MAMORI_LANG=en "$MAMORI" verify "$INST" 2>&1 | tail -1
echo "explain ref=$REF  disclose resident=$RES by=$BY"

timed() { # NAME BIN OUTFILE ARGS...
	_n=$1 _b=$2 _o=$3
	shift 3
	/usr/bin/time -f "$_n seconds=%e user=%U sys=%S peak_kb=%M" "$_b" "$@" >"$_o" 2>"$_o.err" ||
		{ tail -3 "$_o.err"; exit 1; }
	tail -1 "$_o.err"
}

for i in $(seq "$RUNS"); do
	for v in new old; do
		if [ "$v" = new ]; then B=$MAMORI; else B=$OTHER; fi
		[ -n "$B" ] || continue
		timed "$v audit" "$B" "$OUT/audit.$v.json" audit "$INST" --json
		timed "$v explain" "$B" "$OUT/explain.$v.txt" explain "$INST" --ref "$REF"
		# Each disclosure appends a record of itself; the document
		# covers the latest checkpoint, which stays the same.
		timed "$v disclose" "$B" "$OUT/disclose.$v.out" disclose "$INST" "$RES" --by "$BY" \
			--for resident --out "$OUT/disclose.$v.json"
	done
done
if [ -n "$OTHER" ]; then
	for f in audit.%s.json explain.%s.txt disclose.%s.json; do
		# shellcheck disable=SC2059
		cmp "$OUT/$(printf "$f" new)" "$OUT/$(printf "$f" old)" ||
			{ echo "outputs differ: $f"; exit 1; }
	done
	echo "outputs: the same"
fi

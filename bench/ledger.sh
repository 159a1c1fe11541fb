#!/bin/sh
# ledger.sh - the ledger's benchmarks in one run (BENCHMARKS.md, "Ledger").
#
#   bench/ledger.sh [--quick] [--keep] [--no-build] [--proof-leaves N]
#                   [--verify-entries N]
#
# Steps, each bounded in time, files only (no network):
#  1. make bench-build (build/bench/bench_append, bench_verify,
#     bench_proofs, bench_sha, bench_checkpoint, sqlite_append)
#  2. durable appends of access events (bench/events.h): 1 and 16 threads
#     with one ledger_append per event, and 1 thread with groups of 1,000
#     and of 10,000 (ledger_append_many; 10,000 is the batch of `mamori
#     ingest` and the most a POST /v1/events takes)
#  3. the SQLite peer on the same events: WAL, synchronous=NORMAL and FULL,
#     1,000 and 10,000 rows per transaction; and FULL with one row per
#     transaction. Steps 2 and 3 take turns, three rounds, and each
#     figure is the median of its three runs
#  4. the machine's hashing limit: openssl speed -evp sha256 (median of 3) at the mean
#     record size and at the standard block sizes
#  5. full verification of a ledger of 1,000,000 entries (kept in
#     build/bench-data/ledger-verify-N for the next run) and its phases
#  6. proofs at 10^8 leaves: hash files built in build/bench-data/proofs-N
#     (about 6.4 GB, deleted afterwards unless --keep), 10,000 inclusion and
#     10,000 consistency proofs, 1,000 inclusion proofs with a cold cache;
#     and the same reader against ledger_subtree_hash on the real ledger
#     of step 5
#  7. appends while checkpoints are made (bench_checkpoint: 4 threads of
#     single appends, a checkpoint every 1,000 records; not in the
#     summary, in checkpoint.txt)
#  8. a summary with the ratios to the goals
# --quick: fewer appends, 200,000 entries to verify, 10^6 leaves for the
# proofs, 1-second openssl runs. --no-build uses the programs already in
# build/bench. Outputs go to build/bench-out/ledger/. Environment:
# LEDGER_BENCH_BIN=DIR runs the programs in DIR (an earlier build, for a
# before/after comparison; no build), LEDGER_BENCH_OUT=DIR writes there.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
KEEP=0
BUILD=1
PROOF_N=
VERIFY_N=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--no-build) BUILD=0 ;;
	--proof-leaves) PROOF_N=$2; shift ;;
	--verify-entries) VERIFY_N=$2; shift ;;
	*) echo "usage: bench/ledger.sh [--quick] [--keep] [--no-build] [--proof-leaves N] [--verify-entries N]" >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	A1=500; A16=100; AB=20000; AB10=100000; SQ=20000; SQ10=100000; SQ1=500; OSSL_S=1; COLD=200
	[ -n "$VERIFY_N" ] || VERIFY_N=200000
	[ -n "$PROOF_N" ] || PROOF_N=1000000
else
	A1=2000; A16=250; AB=100000; AB10=500000; SQ=100000; SQ10=500000; SQ1=2000; OSSL_S=3; COLD=1000
	[ -n "$VERIFY_N" ] || VERIFY_N=1000000
	[ -n "$PROOF_N" ] || PROOF_N=100000000
fi

OUT=${LEDGER_BENCH_OUT:-$ROOT/build/bench-out/ledger}
DATA=$ROOT/build/bench-data
# LEDGER_BENCH_BIN: run programs kept elsewhere (e.g. an earlier build,
# for a before/after comparison in one sitting); implies --no-build.
BIN=${LEDGER_BENCH_BIN:-$ROOT/build/bench}
[ -z "${LEDGER_BENCH_BIN:-}" ] || BUILD=0
SCRATCH=$DATA/ledger-scratch
mkdir -p "$OUT" "$DATA"

step() { printf '\n== %s\n' "$*"; }
# field NAME LINE: the value of NAME=value in LINE.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
if [ "$BUILD" = 1 ]; then
	step "build (make bench-build)"
	make bench-build >"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log"; exit 1; }
fi
uptime | tee "$OUT/uptime.txt"

: >"$OUT/other.txt"
# measure NAME KEY CMD...: one run of CMD in a fresh scratch directory,
# its result line (the one with KEY=) added to $OUT/m.NAME.
measure() {
	_name=$1 _key=$2
	shift 2
	rm -rf "$SCRATCH"
	mkdir -p "$SCRATCH/d"
	"$@" >"$OUT/m.tmp"
	rm -rf "$SCRATCH"
	# Other lines (bench_append's cost_us) are kept in $OUT/other.txt.
	grep -v " $_key=" "$OUT/m.tmp" >>"$OUT/other.txt" || true
	grep " $_key=" "$OUT/m.tmp" | tee -a "$OUT/m.$_name"
}
# median_of NAME KEY: the line of $OUT/m.NAME whose KEY is the median.
median_of() {
	while read -r line; do
		printf '%s %s\n' "$(field "$2" "$line")" "$line"
	done <"$OUT/m.$1" | sort -n | sed -n 2p | cut -d' ' -f2-
}
step "durable appends and the SQLite peer, interleaved (three rounds, medians)"
# The ledger and SQLite take turns, so that a slow stretch of the disk
# (its sync time moves by several times within minutes here) falls on
# both sides rather than on whichever ran then.
rm -f "$OUT"/m.*
for round in 1 2 3; do
	echo "-- round $round"
	measure apb appends_per_s "$BIN/bench_append" "$SCRATCH/d" 1 "$AB" --batch 1000
	measure sqn rows_per_s "$BIN/sqlite_append" "$SCRATCH/db.sqlite" "$SQ" --batch 1000 --sync NORMAL
	measure sqf rows_per_s "$BIN/sqlite_append" "$SCRATCH/db.sqlite" "$SQ" --batch 1000 --sync FULL
	measure apb10 appends_per_s "$BIN/bench_append" "$SCRATCH/d" 1 "$AB10" --batch 10000
	measure sqn10 rows_per_s "$BIN/sqlite_append" "$SCRATCH/db.sqlite" "$SQ10" --batch 10000 --sync NORMAL
	measure sqf10 rows_per_s "$BIN/sqlite_append" "$SCRATCH/db.sqlite" "$SQ10" --batch 10000 --sync FULL
	measure ap1 appends_per_s "$BIN/bench_append" "$SCRATCH/d" 1 "$A1"
	measure sq1f rows_per_s "$BIN/sqlite_append" "$SCRATCH/db.sqlite" "$SQ1" --batch 1 --sync FULL
	measure ap16 appends_per_s "$BIN/bench_append" "$SCRATCH/d" 16 "$A16"
done
AP1=$(median_of ap1 appends_per_s)
AP16=$(median_of ap16 appends_per_s)
APB=$(median_of apb appends_per_s)
APB10=$(median_of apb10 appends_per_s)
SQN=$(median_of sqn rows_per_s)
SQF=$(median_of sqf rows_per_s)
SQN10=$(median_of sqn10 rows_per_s)
SQF10=$(median_of sqf10 rows_per_s)
SQ1F=$(median_of sq1f rows_per_s)
echo "medians:"
printf '%s\n' "$AP1" "$AP16" "$APB" "$APB10" "$SQN" "$SQF" "$SQN10" "$SQF10" "$SQ1F"
echo "per record, µs (json_parse and leaf_hash priced apart; append = wall time per append per thread):"
cat "$OUT/other.txt"

step "hashing limit: openssl speed -evp sha256 -seconds $OSSL_S"
AVG=$(field avg_record "$APB" | cut -d. -f1)
# Three runs at the mean record size, the median taken: on a shared
# virtual machine one run moves by up to a third.
: >"$OUT/openssl_avg.txt"
for k in 1 2 3; do
	openssl speed -evp sha256 -seconds "$OSSL_S" -bytes "$AVG" 2>/dev/null | grep '^sha256' >>"$OUT/openssl_avg.txt"
done
openssl speed -evp sha256 -seconds "$OSSL_S" >"$OUT/openssl_std.txt" 2>/dev/null
# openssl prints thousands of bytes per second with a trailing k.
OSSL_RUNS=$(awk '/^sha256/ { v = $2; sub(/k$/, "", v); printf "%s%.1f", (NR > 1 ? " " : ""), v / 1000 }' "$OUT/openssl_avg.txt")
OSSL_AVG=$(printf '%s\n' $OSSL_RUNS | sort -n | sed -n 2p)
echo "sha256 at $AVG bytes, three runs: $OSSL_RUNS MB/s (median $OSSL_AVG)"
OSSL_STD=$(awk '/^sha256/ { for (i = 2; i <= NF; i++) { v = $i; sub(/k$/, "", v); printf "%s%.1f", (i > 2 ? " " : ""), v / 1000 } }' "$OUT/openssl_std.txt")
[ -n "$OSSL_AVG" ] || { echo "could not parse openssl speed" >&2; exit 1; }
echo "sha256 at $AVG bytes (the mean record): $OSSL_AVG MB/s"
echo "sha256 at 16 64 256 1024 8192 16384 bytes: $OSSL_STD MB/s"
# One call as the ledger makes it against the same hash through EVP.
"$BIN/bench_sha" | tee "$OUT/sha_calls.txt"

step "appends while checkpoints are made"
if [ -x "$BIN/bench_checkpoint" ]; then
	CDIR=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-cp-XXXXXX")
	"$BIN/bench_checkpoint" "$CDIR" | tee "$OUT/checkpoint.txt"
	rm -rf "$CDIR"
else
	echo "(no $BIN/bench_checkpoint in this build)"
fi

step "full verification of $VERIFY_N entries"
VDIR=$DATA/ledger-verify-$VERIFY_N
mkdir -p "$VDIR"
"$BIN/bench_verify" "$VDIR" "$VERIFY_N" --repeat 3 | tee "$OUT/verify.txt"
# The same with the leaf hashing on one core (the verifier uses two when
# there are two; earlier builds ignore the variable).
MAMORI_VERIFY_THREADS=1 "$BIN/bench_verify" "$VDIR" "$VERIFY_N" --repeat 3 | grep '^verify ' | sed 's/^verify /verify_1core /' | tee -a "$OUT/verify.txt"
VER=$(grep '^verify ' "$OUT/verify.txt")
PH=$(grep '^phases ' "$OUT/verify.txt")
VER1=$(grep '^verify_1core ' "$OUT/verify.txt")

step "proofs over $PROOF_N leaves"
PDIR=$DATA/proofs-$PROOF_N
df -h "$DATA" | tail -1
"$BIN/bench_proofs" "$PDIR" "$PROOF_N" --proofs 10000 --cold "$COLD" | tee "$OUT/proofs.txt"
[ "$KEEP" = 1 ] || rm -rf "$PDIR"
"$BIN/bench_proofs" --ledger "$VDIR" --proofs 10000 | tee "$OUT/proofs_ledger.txt"

step "summary (MB = 10^6 bytes; hashing limit = openssl sha256 at $AVG bytes, $OSSL_AVG MB/s)"
INC=$(grep '^inclusion ' "$OUT/proofs.txt")
CON=$(grep '^consistency ' "$OUT/proofs.txt")
COLDL=$(grep '^inclusion_cold ' "$OUT/proofs.txt" || true)
LINC=$(grep '^ledger_inclusion ' "$OUT/proofs_ledger.txt")
awk -v ossl="$OSSL_AVG" \
    -v a1="$(field appends_per_s "$AP1") $(field record_MB_per_s "$AP1")" \
    -v a16="$(field appends_per_s "$AP16") $(field record_MB_per_s "$AP16")" \
    -v ab="$(field appends_per_s "$APB") $(field record_MB_per_s "$APB")" \
    -v ab10="$(field appends_per_s "$APB10") $(field record_MB_per_s "$APB10")" \
    -v sqn="$(field rows_per_s "$SQN")" -v sqf="$(field rows_per_s "$SQF")" \
    -v sqn10="$(field rows_per_s "$SQN10")" -v sqf10="$(field rows_per_s "$SQF10")" \
    -v sq1="$(field rows_per_s "$SQ1F")" \
    -v ver="$(field entries_per_s "$VER") $(field MB_per_s "$VER") $(field entries "$VER")" \
    -v ver1="$(field entries_per_s "$VER1") $(field MB_per_s "$VER1")" \
    -v lh="$(field leaf_hash_MB_per_s "$PH")" \
    -v inc="$(field median_us "$INC") $(field p99_us "$INC") $(field size "$INC")" \
    -v con="$(field median_us "$CON") $(field p99_us "$CON")" \
    -v cold="$(field median_us "$COLDL") $(field p99_us "$COLDL")" \
    -v linc="$(field median_us "$LINC") $(field p99_us "$LINC") $(field size "$LINC")" '
function pct(x) { return sprintf("%.1f %%", 100 * x / ossl) }
BEGIN {
	split(a1, A1, " "); split(a16, A16, " "); split(ab, AB, " "); split(ab10, AB10, " ")
	split(ver, V, " ")
	split(ver1, V1, " ")
	split(inc, I, " "); split(con, C, " "); split(cold, K, " "); split(linc, L, " ")
	printf "| what | entries/s | MB/s | of hashing limit | vs SQLite |\n|---|---:|---:|---:|---:|\n"
	printf "| append, 1 thread (1 fdatasync pair each) | %d | %.2f | %s | %.2fx FULL, 1 row/txn |\n", A1[1], A1[2], pct(A1[2]), A1[1] / sq1
	printf "| append, 16 threads (group commit) | %d | %.2f | %s | %.2fx FULL, 1 row/txn |\n", A16[1], A16[2], pct(A16[2]), A16[1] / sq1
	printf "| append_many, groups of 1,000 | %d | %.2f | %s | %.2fx NORMAL, %.2fx FULL (1,000 rows/txn) |\n", AB[1], AB[2], pct(AB[2]), AB[1] / sqn, AB[1] / sqf
	printf "| append_many, groups of 10,000 | %d | %.2f | %s | %.2fx NORMAL, %.2fx FULL (10,000 rows/txn) |\n", AB10[1], AB10[2], pct(AB10[2]), AB10[1] / sqn10, AB10[1] / sqf10
	printf "| SQLite WAL NORMAL, 1,000 rows/txn | %d | | | |\n", sqn
	printf "| SQLite WAL FULL, 1,000 rows/txn | %d | | | |\n", sqf
	printf "| SQLite WAL NORMAL, 10,000 rows/txn | %d | | | |\n", sqn10
	printf "| SQLite WAL FULL, 10,000 rows/txn | %d | | | |\n", sqf10
	printf "| SQLite WAL FULL, 1 row/txn | %d | | | |\n", sq1
	printf "| verify (%d entries) | %d | %.1f | %s (goal >= 70 %%) | |\n", V[3], V[1], V[2], pct(V[2])
	printf "| verify, leaf hashing on one core (MAMORI_VERIFY_THREADS=1) | %d | %.1f | %s | |\n", V1[1], V1[2], pct(V1[2])
	printf "| merkle_leaf_hash of the same records (leaf hashes only, one core) | | %.1f | %s | |\n", lh, pct(lh)
	printf "\n| proofs | tree size | median | p99 | goal |\n|---|---:|---:|---:|---|\n"
	printf "| inclusion (hash files, warm) | %d | %.1f us | %.1f us | < 100 us |\n", I[3], I[1], I[2]
	printf "| consistency (hash files, warm) | %d | %.1f us | %.1f us | < 100 us |\n", I[3], C[1], C[2]
	if (K[1] != "") printf "| inclusion, hash files dropped from the cache first | %d | %.1f us | %.1f us | |\n", I[3], K[1], K[2]
	printf "| inclusion via ledger_subtree_hash (real ledger) | %d | %.1f us | %.1f us | |\n", L[3], L[1], L[2]
}' | tee "$OUT/summary.md"

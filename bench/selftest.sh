#!/bin/sh
# selftest.sh - check the benchmark's engines on the hand-made dataset in
# bench/testdata/tiny, whose access events sit on the edges of each rule of
# the default policy (7 x 24 h grace to the second, the 365-day training
# window, the last day of employment in JST, DV support, enforce/monitor,
# export in the mynumber zone, unknown ids). expected.txt was derived by
# hand from FORMATS.md. Also checks that compare.js reports a disagreement
# and that loadgen refuses any address other than 127.0.0.1.
#
#   sh bench/selftest.sh [INSTANCE_DIR_WITH_TINY_IMPORTED]
# With an instance directory (tiny data imported), mamori's bench_decide is
# checked against expected.txt too.
set -eu
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
node bench/make_requests.js --data bench/testdata/tiny --n 100 --seed 3 --out "$T/rq.jsonl" 2>/dev/null
for e in plainjs casbin cedar; do
	node "bench/peers/${e}_bench.js" --data bench/testdata/tiny --requests "$T/rq.jsonl" --out "$T/$e.txt" >/dev/null
done
node bench/compare.js --requests "$T/rq.jsonl" expected=bench/testdata/tiny/expected.txt \
	plainjs="$T/plainjs.txt:full" casbin="$T/casbin.txt:decision" cedar="$T/cedar.txt:cedar" || fail=1
if [ $# -ge 1 ] && [ -x build/bench/bench_decide ]; then
	build/bench/bench_decide "$1" "$T/rq.jsonl" --out "$T/mamori.txt" --repeat 1 >/dev/null
	node bench/compare.js --requests "$T/rq.jsonl" expected=bench/testdata/tiny/expected.txt \
		mamori="$T/mamori.txt:obl" || fail=1
fi
# compare.js must notice a flipped decision.
sed '1s/^allow/deny/' bench/testdata/tiny/expected.txt >"$T/flipped.txt"
if node bench/compare.js expected=bench/testdata/tiny/expected.txt flipped="$T/flipped.txt:decision" >/dev/null; then
	echo "compare.js missed a disagreement"; fail=1
fi
if [ -x build/bench/loadgen ]; then
	if build/bench/loadgen --host 192.0.2.1 --port 80 --key k --requests "$T/rq.jsonl" 2>/dev/null; then
		echo "loadgen accepted a non-loopback host"; fail=1
	fi
fi
[ $fail = 0 ] && echo "selftest: ok" || { echo "selftest: FAILED"; exit 1; }

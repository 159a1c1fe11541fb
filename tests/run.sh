#!/bin/sh
# run.sh BUILDDIR - run every unit and integration test binary under
# BUILDDIR/tests, each in its own process, and print one summary line
# "N passed, N failed" counted from cmocka's per-test results.
set -u
dir=${1:-build/asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export MAMORI_LANG=${MAMORI_LANG:-en}
passed=0; failed=0; bad_bins=""
log=$(mktemp)
for t in "$dir"/tests/unit/test_* "$dir"/tests/integration/test_*; do
	[ -x "$t" ] || continue
	echo "== $t"
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^\[       OK \]' "$log" || true)
	f=$(grep -c '^\[  FAILED  \] [a-z_0-9]' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed outside a test (sanitizer, setup): count it as a failure.
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f))
	[ "$rc" -ne 0 ] && bad_bins="$bad_bins $(basename "$t")"
done
rm -f "$log"
echo
[ -n "$bad_bins" ] && echo "failing test programs:$bad_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$bad_bins" ]

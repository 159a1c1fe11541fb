#!/bin/sh
# run.sh SECONDS BIN... - run each libFuzzer harness for SECONDS, starting
# from the seeds in tests/fuzz/seeds/<name>/ and a working corpus in
# build/fuzz/corpus/<name>/. Fails if any harness finds a crash.
set -u
secs=$1; shift
status=0; passed=0; failed=0
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	corpus=build/fuzz/corpus/$name
	seeds=tests/fuzz/seeds/$name
	mkdir -p "$corpus" "$seeds" build/fuzz/artifacts
	echo "== fuzz $name for ${secs}s"
	if "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 -artifact_prefix=build/fuzz/artifacts/"$name"- \
		"$corpus" "$seeds" >build/fuzz/$name.log 2>&1; then
		tail -n 2 build/fuzz/$name.log
		passed=$((passed + 1))
	else
		tail -n 40 build/fuzz/$name.log
		echo "fuzz $name FAILED (log: build/fuzz/$name.log)"
		failed=$((failed + 1)); status=1
	fi
done
echo "fuzz: $passed passed, $failed failed"
exit $status

#!/bin/sh
# fuzz.sh - run every libFuzzer harness (tests/fuzz/fuzz_*.c: an import line
# of each format, the policy file, a decision request, mamori.conf,
# timestamps, the API's input checks) for longer than `make test` does.
#
#   sh bench/fuzz.sh [SECONDS_PER_HARNESS]     (default 600)
#
# The corpus grows in build/fuzz/corpus/<name>/ and is reused by the next
# run; a crash leaves its input in build/fuzz/artifacts/ and a non-zero exit.
set -eu
cd "$(dirname "$0")/.."
exec make --no-print-directory fuzz FUZZ_SECONDS="${1:-600}"

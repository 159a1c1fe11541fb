# serve.sh - sourced by bench/run.sh and bench/ingest.sh: an API key and a
# running `mamori serve` on 127.0.0.1 for a benchmark.
#
#   serve_start MAMORI INST PORT LOG KEYNAME
#
# Sets KEY (a new API key of INST) and SERVER (the server's pid), starts
# the server with its output in LOG, kills it on exit, and returns once it
# answers HTTP (at most 10 s; otherwise prints LOG and exits 1).
# serve_stop stops it.

serve_start() {
	KEY=$("$1" apikey create "$2" "$5" 2>&1 | grep -o 'mk_[A-Za-z0-9_-]*' | head -1)
	[ -n "$KEY" ] || { echo "no API key from mamori apikey create" >&2; exit 1; }
	"$1" serve "$2" --listen "127.0.0.1:$3" >"$4" 2>&1 &
	SERVER=$!
	trap 'kill "$SERVER" 2>/dev/null || true' EXIT INT TERM
	_i=0
	# curl exits 7 while nothing listens; any HTTP answer means it is up.
	until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$3/" || [ $? -ne 7 ]; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || { echo "server did not start" >&2; cat "$4"; exit 1; }
		sleep 0.1
	done
}

serve_stop() {
	kill "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
	trap - EXIT INT TERM
}

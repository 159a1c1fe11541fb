#!/bin/sh
# deps.sh - make sure the Debian packages mamori builds and tests with are
# installed. As root, installs what is missing with apt-get; otherwise
# prints the exact apt-get line to run and fails. chromium renders the
# ISMS reports to PDF (print-to-PDF) and runs the console's browser tests;
# poppler-utils (pdftotext) lets the tests read the PDFs back;
# fonts-noto-cjk gives the reports and the console their Japanese glyphs;
# nodejs and npm run the console's browser tests (playwright-core drives chromium).
# libssl-dev brings libcrypto, whose SHA-256 (with the CPU's SHA extensions)
# the ledger hashes with.
set -eu
PKGS="build-essential pkg-config libsqlite3-dev libsodium-dev libmicrohttpd-dev
libjansson-dev libyaml-dev libcmocka-dev libqrencode-dev libssl-dev clang curl ca-certificates
chromium poppler-utils fonts-noto-cjk nodejs"
[ "${1:-}" = install ] || [ "${1:-}" = check ] || { echo "usage: deps.sh check|install" >&2; exit 2; }

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
# npm is its own Debian package, but a nodejs from elsewhere (NodeSource)
# carries its own npm and conflicts with Debian's: ask for the package only
# when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "mamori: installing missing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "mamori: missing Debian packages:$missing" >&2
	echo "mamori: 不足している Debian パッケージがあります。次を実行してください / run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi

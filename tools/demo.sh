#!/bin/sh
# demo.sh - `make demo`: a demo instance in demo/ filled with a generated
# municipality (S scale), an API key, and `mamori serve` on
# http://127.0.0.1:8080 in the foreground (Ctrl-C stops it).
#
#   DEMO_LISTEN=127.0.0.1:9090 make demo    another port
set -eu
bin=build/mamori
data=build/demo-data
listen=${DEMO_LISTEN:-127.0.0.1:8080}

if [ ! -f demo/mamori.conf ]; then
	"$bin" init demo --name "みまもり市（デモ）"
	"$bin" gen --scale S --seed 1 --out "$data"
	"$bin" import demo "$data"
else
	echo "demo/ は既にあります（そのまま使います） / demo/ already exists (reused)"
fi
# The demo's API key is kept in demo/demo.key (mode 0600) so that the
# examples below can use it; a real instance shows a key once and keeps
# only its hash.
if [ ! -s demo/demo.key ]; then
	umask 077
	"$bin" apikey create demo demo-console --role admin >demo/demo.key
fi
key=$(cat demo/demo.key)

# An example that policy allows: the first case that has an assignee, its
# resident, the assignee, a system of the case's department, at the time
# the case was opened.
line=$(grep -m1 '"assigned_to":"S' "$data/cases.jsonl")
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"; }
res=$(field "$line" resident_id)
staff=$(field "$line" assigned_to)
dept=$(field "$line" dept)
opened=$(field "$line" opened)
sys=$(grep -m1 "\"id\":\"$dept\"" "$data/departments.jsonl" | sed -n 's/.*"systems":\["\([^"]*\)".*/\1/p')
zone=$(grep -m1 "\"id\":\"$sys\"" "$data/systems.jsonl" | sed -n 's/.*"zone":"\([^"]*\)".*/\1/p')
rq="{\"staff_id\":\"$staff\",\"action\":\"view\",\"resident_id\":\"$res\",\"system\":\"$sys\",\"zone\":\"$zone\",\"mfa\":true,\"ts\":\"$opened\"}"
rq_nomfa=$(printf '%s' "$rq" | sed 's/"mfa":true/"mfa":false/')

cat <<MSG

デモインスタンス / demo instance: demo/   (API キー / API key: demo/demo.key)
  ポリシー / policy:   demo/policy.yaml    ($bin policy show demo)
  監査台帳 / ledger:   demo/ledger/records.log

試してみる / try (別の端末で / in another terminal):
  curl -s http://$listen/v1/health
  curl -s http://$listen/v1/openapi.json | head -c 300
  # 許可される参照 / an access the policy allows:
  curl -s -H "Authorization: Bearer \$(cat demo/demo.key)" -H 'Content-Type: application/json' \\
       -d '$rq' http://$listen/v1/decide
  # 多要素認証なし → 拒否 / without MFA → deny:
  curl -s -H "Authorization: Bearer \$(cat demo/demo.key)" -H 'Content-Type: application/json' \\
       -H 'Accept-Language: en' -d '$rq_nomfa' http://$listen/v1/decide
  # コマンドでも同じ判定（サーバ動作中でも可） / the same on the command line (works while serving):
  echo '$rq' | $bin decide demo
  # ポリシーを編集して再読込み / edit demo/policy.yaml, then:
  curl -s -X POST -H "Authorization: Bearer \$(cat demo/demo.key)" http://$listen/v1/admin/reload

サーバを起動します（Ctrl-C で停止） / starting the server (Ctrl-C stops it): http://$listen
MSG
[ -n "$key" ] || { echo "no API key in demo/demo.key" >&2; exit 1; }
exec "$bin" serve demo --listen "$listen"

#!/bin/sh
# demo.sh - `make demo`: a demo instance in demo/ filled with a generated
# municipality. (The HTTP server arrives with the decision engine.)
set -eu
bin=build/mamori
data=build/demo-data
if [ ! -f demo/mamori.conf ]; then
	"$bin" init demo --name "みまもり市（デモ）"
	"$bin" gen --scale S --seed 1 --out "$data"
	"$bin" import demo "$data"
else
	echo "demo/ は既にあります / demo/ already exists"
fi
cat <<MSG

デモインスタンス / demo instance: demo/
  データ / data:        $data/*.jsonl
  ポリシー / policy:    demo/policy.yaml
  監査台帳 / ledger:    demo/ledger/records.log
  再取込み / re-import: $bin import demo $data   (変更なし / changes nothing)
MSG

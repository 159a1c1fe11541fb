#!/bin/sh
# demo.sh - `make demo`: a demo instance in demo/ filled with a generated
# municipality (S scale), its access events in the ledger, alerts raised
# by the watcher, a small ISMS (policy documents, assets, risks, training,
# a notice, a contractor, incidents, an audit, continuity), a console user
# with password and TOTP, an API key, and `mamori serve` on
# http://127.0.0.1:8080 in the foreground (Ctrl-C stops it). The console
# is at http://127.0.0.1:8080/console/.
#
#   DEMO_LISTEN=127.0.0.1:9090 make demo    another port
#
# Running it again reuses a complete demo/ (marked by demo/.demo-ready)
# as it is; a demo/ without the mark (an interrupted run, or one made by an
# older version of this script) is removed and made again.
#
# Every name, person and event below is fictional.
set -eu
bin=build/mamori
data=build/demo-data
listen=${DEMO_LISTEN:-127.0.0.1:8080}
url=http://$listen
ready=demo/.demo-ready
login=demo
# A password for the demo only: it is printed below for anyone to use.
password=mamori-demo-2026
secretfile=demo/demo-login.txt

# Run mamori with Japanese messages, so that the texts the commands
# write into records (timelines and the like) are Japanese as the rest of
# the demo is.
mj() { MAMORI_LANG=ja "$bin" "$@"; }
# Create an ISMS record of kind $1 from the JSON $2; prints its id.
mk() { printf '%s\n' "$2" | mj isms demo "$1" create --json -; }
# A date relative to today in JST (GNU date): day +30, day -20, ...
day() { TZ=Asia/Tokyo date -d "$1" +%F; }
# The first member of staff of department $1 with employment $2.
staff_of() {
	grep "\"dept\":\"$1\"" "$data/staff.jsonl" | grep "\"employment\":\"$2\"" |
		grep '"end":null' | sed -n '1s/^{"id":"\([^"]*\)".*/\1/p'
}
# Value of the string member $2 of the one-line JSON $1.
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"; }

setup_isms() {
	today=$(day today)
	fy=$(TZ=Asia/Tokyo date +%Y)
	[ "$(TZ=Asia/Tokyo date +%m)" -ge 4 ] || fy=$((fy - 1))
	joho=D-JOHO
	somu=D-SOMU
	kumin=D-CHUO-KUMIN
	zei=D-ZEI
	hogo=D-CHUO-HOGO
	s_joho=$(staff_of $joho regular)
	s_somu=$(staff_of $somu regular)
	s_kumin=$(staff_of $kumin regular)
	s_zei=$(staff_of $zei regular)
	s_hogo=$(staff_of $hogo regular)

	echo "ISMS の記録を作成しています / creating the ISMS records ..."
	mj soa demo seed >/dev/null

	# Organisation: the CISO, the chief officer and the CSIRT lead.
	mk role_assignments "{\"role\":\"ciso\",\"staff\":\"$s_somu\",\"from\":\"$fy-04-01\",\"note\":\"副市長（デモ）\"}" >/dev/null
	mk role_assignments "{\"role\":\"chief_officer\",\"staff\":\"$s_joho\",\"from\":\"$fy-04-01\"}" >/dev/null
	mk role_assignments "{\"role\":\"csirt_lead\",\"staff\":\"$s_joho\",\"from\":\"$fy-04-01\"}" >/dev/null

	# Policy documents: the basic policy (public) and the standard
	# (internal), approved by the CISO through the API once the server
	# runs; a procedure of 戸籍住民課, approved here by the security office.
	doc_basic=$(mk documents "{\"title\":\"みまもり市情報セキュリティ基本方針\",\"layer\":\"basic_policy\",\"publication\":\"public\",\"review_cycle_months\":12,\"owner\":\"$s_joho\"}")
	dv_basic=$(mk document_versions "{\"document\":\"$doc_basic\",\"version_label\":\"第1版\",\"change_summary\":\"制定\",\"text\":\"# みまもり市情報セキュリティ基本方針\\n\\n## 1. 目的\\n\\n本方針は、みまもり市が保有する情報資産を、故意・過失・災害等のあらゆる脅威から守るため、情報セキュリティ対策の基本的な考え方を定めるものである。\\n\\n## 2. 対象範囲\\n\\n- 市長部局、行政委員会及び議会事務局\\n- 市が管理するすべての情報システム、ネットワーク及び記録媒体\\n\\n## 3. 職員等の義務\\n\\n職員、会計年度任用職員及び委託事業者の従事者は、本方針及び対策基準を遵守しなければならない。\\n\\n## 4. 情報セキュリティ管理体制\\n\\n最高情報セキュリティ責任者（CISO）を置き、情報セキュリティ委員会及び CSIRT を設置する。\\n\\n## 5. 評価及び見直し\\n\\n監査及び自己点検の結果を踏まえ、毎年度本方針を見直す。\"}")
	doc_std=$(mk documents "{\"title\":\"みまもり市情報セキュリティ対策基準\",\"layer\":\"standard\",\"publication\":\"internal\",\"review_cycle_months\":12,\"owner\":\"$s_joho\"}")
	dv_std=$(mk document_versions "{\"document\":\"$doc_std\",\"version_label\":\"第1版\",\"change_summary\":\"制定\",\"text\":\"# みまもり市情報セキュリティ対策基準\\n\\n## 第3章 情報資産の分類と管理\\n\\n- 機密性 3A・3B・3C の情報は、支給された端末でのみ扱う。\\n- USB メモリ等の記録媒体は暗号化し、半期ごとに棚卸しを行う。\\n\\n## 第6章 人的セキュリティ\\n\\n- 全職員は年 1 回、情報セキュリティ研修を受講する。\\n- 着任した会計年度任用職員は初日に研修を受講し、誓約書を提出する。\\n\\n## 第7章 技術的セキュリティ\\n\\n- マイナンバー利用事務系へのログインには多要素認証を用いる。\\n- アクセス記録を保存し、定期的に点検する。\"}")
	doc_proc=$(mk documents "{\"title\":\"戸籍住民課 住民記録システム操作手順\",\"layer\":\"procedure\",\"dept\":\"$kumin\",\"implements\":[\"$doc_std\"],\"publication\":\"restricted\",\"owner\":\"$s_kumin\"}")
	dv_proc=$(mk document_versions "{\"document\":\"$doc_proc\",\"version_label\":\"2026.1\",\"change_summary\":\"多要素認証の手順を追加\",\"text\":\"# 住民記録システム操作手順\\n\\n1. 窓口の申請書を確認してから住民の記録を開く。\\n2. 担当外の記録は開かない。やむを得ない場合は案件を申告する。\\n3. 離席時は画面をロックする。\"}")
	mj isms demo document_versions approve "$dv_proc" >/dev/null

	# Information assets across types and classification levels.
	as_juki=$(mk assets "{\"name\":\"住民記録システム\",\"type\":\"system\",\"dept\":\"$kumin\",\"owner\":\"$s_kumin\",\"zone\":\"mynumber\",\"system_id\":\"juki\",\"location\":\"本庁舎 サーバ室\",\"confidentiality\":\"3B\",\"integrity\":\"2\",\"availability\":\"2\"}")
	as_tax=$(mk assets "{\"name\":\"税務システム\",\"type\":\"system\",\"dept\":\"$zei\",\"owner\":\"$s_zei\",\"zone\":\"mynumber\",\"system_id\":\"tax\",\"location\":\"本庁舎 サーバ室\",\"confidentiality\":\"3B\",\"integrity\":\"2\",\"availability\":\"2\"}")
	as_ds=$(mk assets "{\"name\":\"生活保護受給者台帳\",\"type\":\"dataset\",\"dept\":\"$hogo\",\"owner\":\"$s_hogo\",\"confidentiality\":\"3A\",\"integrity\":\"2\",\"availability\":\"1\",\"description\":\"要配慮個人情報を含む。\"}")
	as_lgwan=$(mk assets "{\"name\":\"LGWAN 接続系ネットワーク\",\"type\":\"network\",\"dept\":\"$joho\",\"owner\":\"$s_joho\",\"zone\":\"lgwan\",\"confidentiality\":\"2\",\"integrity\":\"2\",\"availability\":\"2\"}")
	as_web=$(mk assets "{\"name\":\"市公式ウェブサイト\",\"type\":\"system\",\"dept\":\"$somu\",\"owner\":\"$s_somu\",\"zone\":\"internet\",\"confidentiality\":\"1\",\"integrity\":\"2\",\"availability\":\"1\"}")
	as_room=$(mk assets "{\"name\":\"本庁舎 サーバ室\",\"type\":\"facility\",\"dept\":\"$joho\",\"owner\":\"$s_joho\",\"location\":\"本庁舎 地下1階\",\"confidentiality\":\"3B\",\"integrity\":\"2\",\"availability\":\"2\"}")
	as_usb=$(mk assets "{\"name\":\"USB メモリ USB-012\",\"type\":\"removable_media\",\"dept\":\"$zei\",\"issued_to\":\"$s_zei\",\"encrypted\":true,\"last_inventory\":\"$(day '-200 days')\",\"confidentiality\":\"3B\",\"integrity\":\"1\",\"availability\":\"1\"}")

	# Risks across the heat map, with treatments and residual values.
	mk risks "{\"title\":\"職員による住民記録の目的外閲覧\",\"asset\":\"$as_juki\",\"threat\":\"unauthorized_operation\",\"likelihood\":4,\"impact\":5,\"treatment\":\"reduce\",\"controls\":[\"5.15\",\"8.15\",\"8.16\"],\"residual_likelihood\":2,\"residual_impact\":5,\"owner\":\"$s_kumin\",\"review_date\":\"$(day '+90 days')\"}" >/dev/null
	mk risks "{\"title\":\"標的型攻撃メールによるマルウェア感染\",\"asset\":\"$as_lgwan\",\"threat\":\"apt\",\"likelihood\":3,\"impact\":4,\"treatment\":\"reduce\",\"controls\":[\"6.3\",\"8.7\"],\"residual_likelihood\":2,\"residual_impact\":3,\"owner\":\"$s_joho\"}" >/dev/null
	mk risks "{\"title\":\"USB メモリの紛失による情報漏えい\",\"asset\":\"$as_usb\",\"threat\":\"transport_accident\",\"likelihood\":3,\"impact\":3,\"treatment\":\"reduce\",\"controls\":[\"7.10\",\"8.24\"],\"residual_likelihood\":2,\"residual_impact\":2,\"owner\":\"$s_zei\"}" >/dev/null
	mk risks "{\"title\":\"地震によるサーバ室の被災\",\"asset\":\"$as_room\",\"threat\":\"earthquake\",\"likelihood\":2,\"impact\":5,\"treatment\":\"transfer\",\"controls\":[\"5.30\",\"7.5\"],\"owner\":\"$s_joho\"}" >/dev/null
	mk risks "{\"title\":\"ウェブサイトの改ざん\",\"asset\":\"$as_web\",\"threat\":\"tampering\",\"likelihood\":2,\"impact\":2,\"treatment\":\"accept\",\"owner\":\"$s_somu\"}" >/dev/null
	mk risks "{\"title\":\"受給者台帳の誤送付\",\"asset\":\"$as_ds\",\"threat\":\"misoperation\",\"likelihood\":3,\"impact\":4,\"treatment\":\"reduce\",\"controls\":[\"5.14\"],\"owner\":\"$s_hogo\"}" >/dev/null
	mk risks "{\"title\":\"停電による税務システムの停止\",\"asset\":\"$as_tax\",\"threat\":\"power_outage\",\"likelihood\":1,\"impact\":3,\"treatment\":\"reduce\",\"controls\":[\"7.11\"],\"residual_likelihood\":1,\"residual_impact\":2,\"owner\":\"$s_zei\"}" >/dev/null

	# Training: the annual e-learning (the registry's training date) and
	# the pledge on the first day, who must take them, and completions.
	co_annual=$(mk courses "{\"code\":\"SEC-ANNUAL\",\"title\":\"情報セキュリティ研修（年次）\",\"title_en\":\"Annual information security training\",\"type\":\"annual\",\"delivery\":\"elearning\",\"validity_days\":365,\"registry_date\":\"training\"}")
	co_pledge=$(mk courses "{\"code\":\"SEC-DAY1\",\"title\":\"着任時研修と誓約書\",\"title_en\":\"First-day training and pledge\",\"type\":\"day_one\",\"delivery\":\"classroom\",\"validity_days\":0,\"registry_date\":\"pledge\"}")
	mk training_requirements "{\"course\":\"$co_annual\",\"due_days\":30}" >/dev/null
	mk training_requirements "{\"course\":\"$co_pledge\",\"employment\":[\"fiscal_year\",\"temporary\",\"contractor\"],\"due_days\":0}" >/dev/null
	{
		echo "職員番号,講座コード,修了日,得点,受講ID"
		n=0
		for s in $(sed -n 's/^{"id":"\([^"]*\)".*"end":null.*/\1/p' "$data/staff.jsonl" | head -12); do
			n=$((n + 1))
			echo "$s,SEC-ANNUAL,$(day "-$((n * 3)) days"),$((70 + n * 2)),EL-$fy-$(printf %04d $n)"
		done
	} >demo/training-completions.csv
	mj training demo import demo/training-completions.csv >/dev/null

	# A notice from NISC to all staff, acknowledged by a few.
	nt=$(mk notices "{\"source\":\"nisc\",\"title\":\"年末年始における情報セキュリティに関する注意喚起\",\"body\":\"長期休暇中は不審なメールの添付ファイルを開かないこと。休暇明けには端末の更新を適用すること。\",\"severity\":\"medium\",\"audience_all\":true,\"issued\":\"$(day '-5 days')\",\"due\":\"$(day '+9 days')\"}")
	for s in "$s_joho" "$s_somu" "$s_kumin"; do
		mj notices demo ack "$nt" "$s" >/dev/null
	done

	# A contractor with a contract ending soon and a report overdue.
	ct_reg=$(sed -n 's/.*"contractor":"\([^"]*\)".*/\1/p' "$data/staff.jsonl" | head -1)
	ct_staff=$(grep "\"contractor\":\"$ct_reg\"" "$data/staff.jsonl" | grep '"end":null' | sed -n '1s/^{"id":"\([^"]*\)".*/\1/p')
	ct_dept=$(grep "\"id\":\"$ct_staff\"" "$data/staff.jsonl" | sed -n 's/.*"dept":"\([^"]*\)".*/\1/p')
	ctr=$(mk contractors "{\"name\":\"みまもり情報サービス株式会社（架空）\",\"registry_id\":\"$ct_reg\",\"address\":\"みまもり市中央区1-2-3\",\"contact\":\"営業部 03-0000-0000\",\"certifications\":[\"ISMS (ISO/IEC 27001)\",\"プライバシーマーク\"]}")
	ctc=$(mk contracts "{\"contractor\":\"$ctr\",\"title\":\"窓口業務委託（住民異動届の受付補助）\",\"dept\":\"$ct_dept\",\"start\":\"$(day '-330 days')\",\"end\":\"$(day '+35 days')\",\"systems\":[\"juki\"],\"data_handled\":[\"住民票記載事項\"],\"security_clauses\":[\"秘密保持\",\"再委託の禁止\",\"従事者への研修\",\"事故時の報告\"],\"subcontracting\":false,\"personnel\":[\"$ct_staff\"],\"report_every_days\":90}")
	mk contractor_reports "{\"contract\":\"$ctc\",\"period\":\"第3四半期\",\"due\":\"$(day '-10 days')\"}" >/dev/null

	# An internal audit with two findings and their corrective actions,
	# one of them overdue; the self-inspection sent to the departments.
	au=$(mk audits "{\"title\":\"令和$((fy - 2018))年度 情報セキュリティ内部監査\",\"type\":\"internal\",\"fiscal_year\":$fy,\"scope\":\"戸籍住民課及び市民税課における情報資産の管理状況\",\"auditors\":[\"監査担当（総務課）\"],\"start\":\"$(day '-60 days')\",\"end\":\"$(day '-45 days')\",\"status\":\"reported\",\"summary\":\"記録媒体の管理と離席時の画面ロックに改善の余地がある。\",\"public\":true}")
	f1=$(mk findings "{\"audit\":\"$au\",\"title\":\"USB メモリの棚卸しが半期を超えて未実施\",\"severity\":\"minor\",\"controls\":[\"7.10\"],\"dept\":\"$zei\"}")
	f2=$(mk findings "{\"audit\":\"$au\",\"title\":\"離席時に画面ロックされていない端末があった\",\"severity\":\"observation\",\"controls\":[\"8.1\"],\"dept\":\"$kumin\"}")
	mk corrective_actions "{\"source\":\"finding\",\"source_id\":\"$f1\",\"title\":\"記録媒体の棚卸しを実施し管理簿を更新する\",\"owner\":\"$s_zei\",\"dept\":\"$zei\",\"due\":\"$(day '-20 days')\",\"status\":\"open\"}" >/dev/null
	mk corrective_actions "{\"source\":\"finding\",\"source_id\":\"$f2\",\"title\":\"画面ロックの自動設定（5分）を全端末に適用する\",\"owner\":\"$s_kumin\",\"dept\":\"$kumin\",\"due\":\"$(day '+40 days')\",\"status\":\"open\"}" >/dev/null
	mj checklists demo issue --year "$fy" >/dev/null

	# Continuity: a critical system whose drill is overdue.
	bcp=$(mk bcp_systems "{\"name\":\"住民記録システム\",\"system_id\":\"juki\",\"dept\":\"$kumin\",\"tier\":\"critical\",\"rto_hours\":24,\"rpo_hours\":4,\"dependencies\":[\"LGWAN 接続系ネットワーク\",\"本庁舎 サーバ室\"],\"contacts\":[\"情報政策課 内線 2101\"],\"drill_interval_days\":365,\"procedure\":\"1. 被災状況を確認する。\\n2. 待機系サーバへ切り替える。\\n3. 窓口で紙の様式による受付に切り替える。\"}")
	ca_drill=$(mk corrective_actions "{\"source\":\"drill\",\"title\":\"待機系への切替手順書を改訂する\",\"owner\":\"$s_joho\",\"dept\":\"$joho\",\"due\":\"$(day '+60 days')\",\"status\":\"open\"}")
	mk bcp_drills "{\"system\":\"$bcp\",\"date\":\"$(day '-420 days')\",\"scenario\":\"停電による主系サーバ停止\",\"results\":\"待機系への切替えに 6 時間を要した。\",\"recovery_hours\":6,\"followups\":[\"$ca_drill\"]}" >/dev/null

	# An incident reported by a department: an encrypted USB memory lost.
	mj incident demo report --json - >/dev/null <<JSON
{"title":"暗号化 USB メモリの紛失（市民税課）","category":"media_loss","severity":"low","dept":"$zei","assets":["$as_usb"],"occurred_at":"$(day '-2 days')T17:30:00+09:00","description":"帰庁後、貸与された USB メモリが見当たらないことに気付いた。","personal_data":true,"people":40,"data_items":"氏名、住所、税額","encrypted":true}
JSON
}

# Steps that need the running server: the watcher raises the alerts
# from the ingested events; the CISO approves the basic policy and the
# standard; CSIRT triages alerts and escalates one to an incident.
setup_online() {
	key=$(cat demo/demo.key)
	ciso=$(cat demo/ciso.key)
	"$bin" serve demo --listen "$listen" >demo/setup-serve.log 2>&1 &
	spid=$!
	trap 'kill $spid 2>/dev/null || true' EXIT
	i=0
	until curl -sf "$url/v1/health" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 $spid 2>/dev/null; then
			echo "mamori serve が起動しません / mamori serve did not start:" >&2
			cat demo/setup-serve.log >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "監視機能がアラートを出すのを待っています / waiting for the watcher's alerts ..."
	# The watcher commits its alerts several times a second while it
	# catches up; the count still for two seconds means it has.
	last=-1
	same=0
	i=0
	while :; do
		n=$(curl -s -H "Authorization: Bearer $key" "$url/v1/alerts?per_page=1" | sed -n 's/.*"total":\([0-9]*\)}$/\1/p')
		n=${n:-0}
		if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ $same -lt 2 ] || break
		else
			same=0
		fi
		last=$n
		i=$((i + 1))
		[ $i -lt 60 ] || break
		sleep 1
	done

	for dv in "$dv_basic" "$dv_std"; do
		curl -sS --fail-with-body -X POST -H "Authorization: Bearer $ciso" "$url/v1/isms/document_versions/$dv/approve" >/dev/null
	done

	# These go through the API as the console would: the server is then
	# the only process writing the ledger.
	api() { curl -sS --fail-with-body -H "Authorization: Bearer $key" -H 'Accept-Language: ja' -H 'Content-Type: application/json' "$@"; }
	alerts=$(api "$url/v1/alerts?per_page=200")
	pick() { printf '%s\n' "$alerts" | grep -o "{\"id\":[0-9]*,\"rule\":\"[^\"]*\",\"severity\":\"$1\"" | sed -n "${2:-1}s/{\"id\":\\([0-9]*\\),.*/\\1/p"; }
	hi=$(pick critical)
	[ -n "$hi" ] || hi=$(pick high)
	if [ -n "$hi" ]; then
		inc=$(api -d '{}' "$url/v1/incidents/from-alert/$hi" | grep -o '"_id":"IN-[0-9]*"' | head -1 | cut -d'"' -f4)
		if [ -n "$inc" ]; then
			api -d '{"type":"action","text":"アクセス記録を保全した。当該職員への聞き取りを CSIRT が実施予定。"}' \
				"$url/v1/incidents/$inc/timeline" >/dev/null
			api -d "{\"title\":\"所属長への事実確認\",\"owner\":\"$s_joho\",\"due\":\"$(day '+3 days')\"}" \
				"$url/v1/incidents/$inc/tasks" >/dev/null
		fi
	fi
	med=$(pick medium 1)
	[ -z "$med" ] || api -d '{"status":"false_positive","reason":"承認済みの時間外勤務（命令簿への登録漏れ）"}' "$url/v1/alerts/$med" >/dev/null
	med=$(pick medium 2)
	[ -z "$med" ] || api -d '{"status":"confirmed","reason":"所属長に事実確認を依頼"}' "$url/v1/alerts/$med" >/dev/null

	kill $spid
	wait $spid 2>/dev/null || true
	trap - EXIT
}

if [ -f demo/mamori.conf ] && [ -f "$ready" ]; then
	echo "demo/ は既にあります（そのまま使います） / demo/ already exists (reused)"
	# The examples below read the generated files; make them again (the
	# same seed gives the same municipality) if build/ was cleaned.
	[ -f "$data/cases.jsonl" ] || "$bin" gen --scale S --seed 1 --out "$data" >/dev/null
else
	if [ -e demo ]; then
		echo "demo/ が未完成のため作り直します / demo/ is incomplete: making it again"
		rm -rf demo
	fi
	rm -rf "$data"
	"$bin" init demo --name "みまもり市（デモ）"
	"$bin" gen --scale S --seed 1 --out "$data"
	"$bin" import demo "$data"
	echo "アクセス記録を監査台帳に取り込んでいます / ingesting the access events ..."
	"$bin" ingest demo "$data/access.jsonl" --quiet
	# The demo's API key is kept in demo/demo.key (mode 0600) so that the
	# examples below can use it; a real instance shows a key once and
	# keeps only its hash. The CISO key approves the policy and is
	# revoked right after.
	(
		umask 077
		"$bin" apikey create demo demo-console --role admin >demo/demo.key 2>/dev/null
		"$bin" apikey create demo demo-ciso --role ciso >demo/ciso.key 2>/dev/null
	)
	printf '%s\n' "$password" |
		"$bin" user add demo "$login" --role admin --staff "$(staff_of D-JOHO regular)" \
			--password-stdin --totp-secret-out "$secretfile"
	setup_isms
	setup_online
	"$bin" apikey revoke demo demo-ciso >/dev/null 2>&1
	rm -f demo/ciso.key
	touch "$ready"
fi
key=$(cat demo/demo.key)
[ -n "$key" ] || { echo "no API key in demo/demo.key" >&2; exit 1; }
secret=$(sed -n 's/^totp_secret=//p' "$secretfile")
uri=$(sed -n 's/^otpauth_uri=//p' "$secretfile")

# An example that policy allows: the first case that has an assignee, its
# resident, the assignee, a system of the case's department, at the time
# the case was opened.
line=$(grep -m1 '"assigned_to":"S' "$data/cases.jsonl")
res=$(field "$line" resident_id)
staff=$(field "$line" assigned_to)
dept=$(field "$line" dept)
opened=$(field "$line" opened)
sys=$(grep -m1 "\"id\":\"$dept\"" "$data/departments.jsonl" | sed -n 's/.*"systems":\["\([^"]*\)".*/\1/p')
zone=$(grep -m1 "\"id\":\"$sys\"" "$data/systems.jsonl" | sed -n 's/.*"zone":"\([^"]*\)".*/\1/p')
rq="{\"staff_id\":\"$staff\",\"action\":\"view\",\"resident_id\":\"$res\",\"system\":\"$sys\",\"zone\":\"$zone\",\"mfa\":true,\"ts\":\"$opened\"}"
rq_nomfa=$(printf '%s' "$rq" | sed 's/"mfa":true/"mfa":false/')

cat <<MSG

デモインスタンス / demo instance: demo/   （架空の「みまもり市」 / the fictional city of Mimamori）
  ポリシー / policy:   demo/policy.yaml    ($bin policy show demo)
  監査台帳 / ledger:   demo/ledger/           ($bin verify demo)

試してみる / try (別の端末で / in another terminal):
  curl -s $url/v1/health
  curl -s $url/v1/openapi.json | head -c 300
  curl -s -H "Authorization: Bearer \$(cat demo/demo.key)" '$url/v1/alerts?severity=high'
  # 許可される参照 / an access the policy allows:
  curl -s -H "Authorization: Bearer \$(cat demo/demo.key)" -H 'Content-Type: application/json' \\
       -d '$rq' $url/v1/decide
  # 多要素認証なし → 拒否 / without MFA → deny:
  curl -s -H "Authorization: Bearer \$(cat demo/demo.key)" -H 'Content-Type: application/json' \\
       -H 'Accept-Language: en' -d '$rq_nomfa' $url/v1/decide
  # コマンドでも同じ判定（サーバ動作中でも可） / the same on the command line (works while serving):
  echo '$rq' | $bin decide demo

API キー / API key (admin):  demo/demo.key

================================================================================
 ウェブコンソール / web console:  $url/console/

 デモ用ログイン / demo login （デモ専用です。本番では使わないでください /
                               for this demo only, never for real use）
   ログイン名 / login:        $login
   パスワード / password:     $password
   TOTP の秘密 / secret:      $secret
   otpauth URI:               $uri

 認証アプリ（Google Authenticator、FreeOTP など）に秘密を登録し、表示された
 6 桁のコードを入力してください。端末で求めるなら: oathtool --totp -b $secret
 Add the secret to an authenticator app (Google Authenticator, FreeOTP, ...)
 and type the 6-digit code it shows; or on a terminal: oathtool --totp -b $secret
 （秘密と回復コード / the secret and recovery codes: $secretfile, mode 0600）
================================================================================

サーバを起動します（Ctrl-C で停止） / starting the server (Ctrl-C stops it): $url
MSG
exec "$bin" serve demo --listen "$listen"

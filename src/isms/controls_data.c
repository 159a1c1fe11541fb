/*
 * controls_data.c - the control library as data (controls.h).
 *
 * Annex A: ISO/IEC 27001:2022 Annex A, identical in JIS Q 27001:2023
 * 附属書A. Only the numbers and short titles are kept, never the text of
 * the standard. The Japanese titles are the JIS Q 27001:2023 terms; where
 * the exact JIS wording could not be confirmed the Japanese title is left
 * empty rather than guessed, and people see the English one.
 *
 * MIC: 総務省「地方公共団体における情報セキュリティポリシーに関する
 * ガイドライン」(令和5年3月版 and later), 第2編 第3章 情報セキュリティ
 * 対策基準: the chapters 2 組織体制 to 10 評価・見直し (chapter 1 is the
 * scope and the definitions and holds no measure). Only chapters are kept:
 * the sections under them differ between revisions of the guideline and a
 * municipality's own 対策基準 renumbers them, so mamori does not pretend to
 * know them; a municipality records its own sections in its policy
 * documents.
 *
 * The mapping of each chapter to Annex A controls is mamori's own reading
 * of what each chapter of the guideline covers; neither the guideline nor
 * the standard defines it. Every Annex A control is mapped to at least one
 * chapter (tests/unit/test_isms_controls.c checks this).
 */
#include "base/base.h"
#include "base/i18n.h"
#include "isms/controls.h"

/* clang-format off */
#define C(t, n, en, ja) {#t "." #n, t, n, en, ja}
/* clang-format on */

const struct annex_control annex_controls[] = {
    /* 5 Organizational controls (組織的管理策) */
    C(5, 1, "Policies for information security", "情報セキュリティのための方針群"),
    C(5, 2, "Information security roles and responsibilities", "情報セキュリティの役割及び責任"),
    C(5, 3, "Segregation of duties", "職務の分離"),
    C(5, 4, "Management responsibilities", "経営陣の責任"),
    C(5, 5, "Contact with authorities", "関係当局との連絡"),
    C(5, 6, "Contact with special interest groups", "専門組織との連絡"),
    C(5, 7, "Threat intelligence", "脅威インテリジェンス"),
    C(5, 8, "Information security in project management",
      "プロジェクトマネジメントにおける情報セキュリティ"),
    C(5, 9, "Inventory of information and other associated assets",
      "情報及びその他の関連資産の目録"),
    C(5, 10, "Acceptable use of information and other associated assets",
      "情報及びその他の関連資産の許容される利用"),
    C(5, 11, "Return of assets", "資産の返却"),
    C(5, 12, "Classification of information", "情報の分類"),
    C(5, 13, "Labelling of information", "情報のラベル付け"),
    C(5, 14, "Information transfer", "情報転送"),
    C(5, 15, "Access control", "アクセス制御"),
    C(5, 16, "Identity management", "識別情報の管理"),
    C(5, 17, "Authentication information", "認証情報"),
    C(5, 18, "Access rights", "アクセス権"),
    C(5, 19, "Information security in supplier relationships",
      "供給者関係における情報セキュリティ"),
    C(5, 20, "Addressing information security within supplier agreements",
      "供給者との合意における情報セキュリティの取扱い"),
    C(5, 21, "Managing information security in the ICT supply chain",
      "ICTサプライチェーンにおける情報セキュリティの管理"),
    C(5, 22, "Monitoring, review and change management of supplier services",
      "供給者のサービス提供の監視，レビュー及び変更管理"),
    C(5, 23, "Information security for use of cloud services",
      "クラウドサービスの利用における情報セキュリティ"),
    C(5, 24, "Information security incident management planning and preparation",
      "情報セキュリティインシデント管理の計画策定及び準備"),
    C(5, 25, "Assessment and decision on information security events",
      "情報セキュリティ事象の評価及び決定"),
    C(5, 26, "Response to information security incidents", "情報セキュリティインシデントへの対応"),
    C(5, 27, "Learning from information security incidents",
      "情報セキュリティインシデントからの学習"),
    C(5, 28, "Collection of evidence", "証拠の収集"),
    C(5, 29, "Information security during disruption", "事業の中断・阻害時の情報セキュリティ"),
    C(5, 30, "ICT readiness for business continuity", "事業継続のためのICTの備え"),
    C(5, 31, "Legal, statutory, regulatory and contractual requirements",
      "法令，規制及び契約上の要求事項"),
    C(5, 32, "Intellectual property rights", "知的財産権"),
    C(5, 33, "Protection of records", "記録の保護"),
    C(5, 34, "Privacy and protection of PII", "プライバシー及びPIIの保護"),
    C(5, 35, "Independent review of information security", "情報セキュリティの独立したレビュー"),
    C(5, 36, "Compliance with policies, rules and standards for information security",
      "情報セキュリティのための方針群，規則及び標準の順守"),
    C(5, 37, "Documented operating procedures", "操作手順書"),
    /* 6 People controls (人的管理策) */
    C(6, 1, "Screening", "選考"),
    C(6, 2, "Terms and conditions of employment", "雇用条件"),
    C(6, 3, "Information security awareness, education and training",
      "情報セキュリティの意識向上，教育及び訓練"),
    C(6, 4, "Disciplinary process", "懲戒手続"),
    C(6, 5, "Responsibilities after termination or change of employment",
      "雇用の終了又は変更後の責任"),
    C(6, 6, "Confidentiality or non-disclosure agreements", "秘密保持契約又は守秘義務契約"),
    C(6, 7, "Remote working", "リモートワーク"),
    C(6, 8, "Information security event reporting", "情報セキュリティ事象の報告"),
    /* 7 Physical controls (物理的管理策) */
    C(7, 1, "Physical security perimeters", "物理的セキュリティ境界"),
    C(7, 2, "Physical entry", "物理的入退"),
    C(7, 3, "Securing offices, rooms and facilities", "オフィス，部屋及び施設のセキュリティ"),
    C(7, 4, "Physical security monitoring", "物理的セキュリティの監視"),
    C(7, 5, "Protecting against physical and environmental threats",
      "物理的及び環境的脅威からの保護"),
    C(7, 6, "Working in secure areas", "セキュリティを保つべき領域での作業"),
    C(7, 7, "Clear desk and clear screen", "クリアデスク・クリアスクリーン"),
    C(7, 8, "Equipment siting and protection", "装置の設置及び保護"),
    C(7, 9, "Security of assets off-premises", "構外にある資産のセキュリティ"),
    C(7, 10, "Storage media", "記憶媒体"),
    C(7, 11, "Supporting utilities", "サポートユーティリティ"),
    C(7, 12, "Cabling security", "ケーブル配線のセキュリティ"),
    C(7, 13, "Equipment maintenance", "装置の保守"),
    C(7, 14, "Secure disposal or re-use of equipment", "装置のセキュリティを保った処分又は再利用"),
    /* 8 Technological controls (技術的管理策) */
    C(8, 1, "User endpoint devices", "利用者エンドポイント機器"),
    C(8, 2, "Privileged access rights", "特権的アクセス権"),
    C(8, 3, "Information access restriction", "情報へのアクセス制限"),
    C(8, 4, "Access to source code", "ソースコードへのアクセス"),
    C(8, 5, "Secure authentication", "セキュリティを保った認証"),
    C(8, 6, "Capacity management", "容量・能力の管理"),
    C(8, 7, "Protection against malware", "マルウェアに対する保護"),
    C(8, 8, "Management of technical vulnerabilities", "技術的ぜい弱性の管理"),
    C(8, 9, "Configuration management", "構成管理"),
    C(8, 10, "Information deletion", "情報の削除"),
    C(8, 11, "Data masking", "データマスキング"),
    C(8, 12, "Data leakage prevention", "データ漏えい防止"),
    C(8, 13, "Information backup", "情報のバックアップ"),
    C(8, 14, "Redundancy of information processing facilities", "情報処理施設の冗長性"),
    C(8, 15, "Logging", "ログ取得"),
    C(8, 16, "Monitoring activities", "監視活動"),
    C(8, 17, "Clock synchronization", "クロックの同期"),
    C(8, 18, "Use of privileged utility programs", "特権的なユーティリティプログラムの使用"),
    C(8, 19, "Installation of software on operational systems",
      "運用システムに関わるソフトウェアの導入"),
    C(8, 20, "Networks security", ""),
    C(8, 21, "Security of network services", "ネットワークサービスのセキュリティ"),
    C(8, 22, "Segregation of networks", "ネットワークの分離"),
    C(8, 23, "Web filtering", "ウェブ・フィルタリング"),
    C(8, 24, "Use of cryptography", "暗号の利用"),
    C(8, 25, "Secure development life cycle", "セキュリティに配慮した開発のライフサイクル"),
    C(8, 26, "Application security requirements", "アプリケーションのセキュリティの要求事項"),
    C(8, 27, "Secure system architecture and engineering principles", ""),
    C(8, 28, "Secure coding", "セキュリティに配慮したコーディング"),
    C(8, 29, "Security testing in development and acceptance",
      "開発及び受入れにおけるセキュリティテスト"),
    C(8, 30, "Outsourced development", "外部委託による開発"),
    C(8, 31, "Separation of development, test and production environments", ""),
    C(8, 32, "Change management", "変更管理"),
    C(8, 33, "Test information", "テスト用情報"),
    C(8, 34, "Protection of information systems during audit testing", ""),
};
const size_t annex_ncontrols = ARRAY_SIZE(annex_controls);

/* ---- the MIC guideline's 対策基準, by chapter, and mamori's mapping ---- */

/* 2 組織体制: the CISO, the responsible persons, the committee, CSIRT and
 * its outside contacts. */
static const char *const map_org[] = {"5.2", "5.3", "5.4", "5.5", "5.6", "5.24"};
/* 3 情報資産の分類と管理: inventory, classification, labelling, handling,
 * transfer, storage and disposal of information and media. */
static const char *const map_assets[] = {"5.9",	 "5.10", "5.11", "5.12", "5.13",
					 "5.14", "5.33", "7.10", "8.10"};
/* 4 情報システム全体の強靭性の向上: the three-zone separation (三層の対策),
 * no export from the My Number zone, multi-factor authentication, the
 * prefecture's security cloud. */
static const char *const map_resilience[] = {"8.5", "8.12", "8.20", "8.21", "8.22", "8.23", "5.23"};
/* 5 物理的セキュリティ: servers, 管理区域, lines, terminals and media. */
static const char *const map_physical[] = {"7.1",  "7.2",  "7.3",  "7.4",  "7.5",
					   "7.6",  "7.7",  "7.8",  "7.9",  "7.10",
					   "7.11", "7.12", "7.13", "7.14", "8.1"};
/* 6 人的セキュリティ: staff duties, training and drills, reporting of
 * incidents, IDs and passwords. */
static const char *const map_people[] = {"6.1", "6.2", "6.3",  "6.5", "6.6",
					 "6.7", "6.8", "5.17", "7.7"};
/* 7 技術的セキュリティ: computers and networks, access control, system
 * development and maintenance, malware, unauthorised access, security
 * information. */
static const char *const map_technical[] = {
    "5.7",  "5.8",  "5.15", "5.16", "5.18", "8.2",  "8.3",  "8.4",  "8.5",  "8.6",
    "8.7",  "8.8",  "8.9",  "8.11", "8.13", "8.14", "8.15", "8.17", "8.18", "8.19",
    "8.24", "8.25", "8.26", "8.27", "8.28", "8.29", "8.31", "8.32", "8.33"};
/* 8 運用: monitoring, checks of compliance, response to incidents,
 * exceptions, legal compliance, disciplinary measures, continuity. */
static const char *const map_operation[] = {"8.16", "5.24", "5.25", "5.26", "5.27", "5.28", "5.29",
					    "5.30", "5.31", "5.32", "5.34", "5.36", "5.37", "6.4"};
/* 9 業務委託と外部サービスの利用: contractors, cloud and other external
 * services, social media. */
static const char *const map_outsourcing[] = {"5.19", "5.20", "5.21", "5.22",
					      "5.23", "8.30", "6.6"};
/* 10 評価・見直し: audits, self-inspection, review of the policy. */
static const char *const map_review[] = {"5.1", "5.35", "5.36", "8.34"};

#define M(id, ja, en, map)                                                                         \
	{                                                                                          \
		id, ja, en, map, ARRAY_SIZE(map)                                                   \
	}

const struct mic_chapter mic_chapters[] = {
    M("2", "組織体制", "Organisation", map_org),
    M("3", "情報資産の分類と管理", "Classification and management of information assets",
      map_assets),
    M("4", "情報システム全体の強靭性の向上", "Resilience of the information systems as a whole",
      map_resilience),
    M("5", "物理的セキュリティ", "Physical security", map_physical),
    M("6", "人的セキュリティ", "Human security", map_people),
    M("7", "技術的セキュリティ", "Technical security", map_technical),
    M("8", "運用", "Operation", map_operation),
    M("9", "業務委託と外部サービスの利用", "Outsourcing and use of external services",
      map_outsourcing),
    M("10", "評価・見直し", "Evaluation and review", map_review),
};
const size_t mic_nchapters = ARRAY_SIZE(mic_chapters);

/* ---- live evidence ---- */

static const struct {
	const char *id;
	unsigned sources;
} live[] = {
    {"5.12", SOA_LIVE_DECISIONS},
    {"5.15", SOA_LIVE_DECISIONS},
    {"5.16", SOA_LIVE_DECISIONS},
    {"5.18", SOA_LIVE_DECISIONS},
    {"5.19", SOA_LIVE_CONTRACTS},
    {"5.20", SOA_LIVE_CONTRACTS},
    {"5.22", SOA_LIVE_CONTRACTS},
    {"5.24", SOA_LIVE_INCIDENTS | SOA_LIVE_NOTICES},
    {"5.25", SOA_LIVE_INCIDENTS | SOA_LIVE_ALERTS},
    {"5.26", SOA_LIVE_INCIDENTS},
    {"5.27", SOA_LIVE_INCIDENTS},
    {"5.28", SOA_LIVE_LEDGER},
    {"5.33", SOA_LIVE_LEDGER},
    {"5.34", SOA_LIVE_DECISIONS | SOA_LIVE_LEDGER},
    {"6.3", SOA_LIVE_TRAINING | SOA_LIVE_NOTICES},
    {"6.6", SOA_LIVE_PLEDGES},
    {"8.2", SOA_LIVE_DECISIONS},
    {"8.3", SOA_LIVE_DECISIONS},
    {"8.5", SOA_LIVE_DECISIONS},
    {"8.12", SOA_LIVE_DECISIONS | SOA_LIVE_ALERTS},
    {"8.15", SOA_LIVE_LEDGER},
    {"8.16", SOA_LIVE_ALERTS},
    {"8.22", SOA_LIVE_DECISIONS},
};

unsigned soa_live_sources(const char *control_id)
{
	if (!control_id)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(live); i++)
		if (!strcmp(live[i].id, control_id))
			return live[i].sources;
	return 0;
}

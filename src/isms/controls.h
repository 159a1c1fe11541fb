/*
 * controls.h - the control library: ISO/IEC 27001:2022 Annex A (JIS Q
 * 27001:2023 附属書A) and the chapters of the MIC guideline's 対策基準,
 * with mamori's mapping between them, and the controls for which mamori
 * itself holds live evidence (docs/isms-people.md).
 *
 * Everything here is static, read-only data and pure functions over it:
 * any thread, no allocation.
 */
#ifndef MAMORI_ISMS_CONTROLS_H
#define MAMORI_ISMS_CONTROLS_H

#include "base/base.h"

/* The four themes of Annex A, numbered as the clauses of ISO/IEC 27002. */
enum annex_theme {
	ANNEX_ORGANIZATIONAL = 5, /* 組織的管理策 5.1-5.37 */
	ANNEX_PEOPLE = 6,	  /* 人的管理策 6.1-6.8 */
	ANNEX_PHYSICAL = 7,	  /* 物理的管理策 7.1-7.14 */
	ANNEX_TECHNOLOGICAL = 8,  /* 技術的管理策 8.1-8.34 */
};

#define ANNEX_CONTROLS 93
#define CONTROL_ID_MAX 8

/* One control of Annex A: its number and short title (never its text). */
struct annex_control {
	const char *id; /* "5.15" */
	uint8_t theme;	/* enum annex_theme */
	uint8_t num;	/* 15 */
	const char *en; /* "Access control" */
	const char *ja; /* "アクセス制御"; "" where not given */
};

extern const struct annex_control annex_controls[];
extern const size_t annex_ncontrols;

/* The control with that id ("5.15"), or NULL. */
const struct annex_control *annex_control_find(const char *id);
/* The theme's name for people, in the thread's language. */
const char *annex_theme_label(unsigned theme);

/*
 * One chapter of the 対策基準 of 「地方公共団体における情報セキュリティ
 * ポリシーに関するガイドライン」 (総務省), with the Annex A controls that
 * mamori maps to it. The mapping is mamori's reading, not part of the
 * guideline or of the standard.
 */
struct mic_chapter {
	const char *id; /* "6": the chapter's number in the guideline's 対策基準 */
	const char *ja, *en;
	const char *const *controls; /* Annex A ids */
	size_t ncontrols;
};

extern const struct mic_chapter mic_chapters[];
extern const size_t mic_nchapters;

/* The chapter with that id, or NULL. */
const struct mic_chapter *mic_chapter_find(const char *id);

/*
 * The MIC chapters a control is mapped to: their ids are written to
 * out[0..cap) and the number found is returned (it may exceed cap).
 */
size_t mic_chapters_of(const char *control_id, const struct mic_chapter **out, size_t cap);

/* Sources of live evidence mamori holds for a control (bits). */
enum soa_live {
	SOA_LIVE_DECISIONS = 1u << 0, /* the decision service and its policy */
	SOA_LIVE_LEDGER = 1u << 1,    /* the ledger: checkpoint and its verification */
	SOA_LIVE_TRAINING = 1u << 2,  /* training coverage of staff */
	SOA_LIVE_ALERTS = 1u << 3,    /* the access audit and its alerts */
	SOA_LIVE_INCIDENTS = 1u << 4, /* incident records, once the kind exists */
	SOA_LIVE_CONTRACTS = 1u << 5, /* contractors, contracts, reports, checks */
	SOA_LIVE_NOTICES = 1u << 6,   /* security notices and acknowledgements */
	SOA_LIVE_PLEDGES = 1u << 7,   /* confidentiality pledges (誓約書) */
};

/* The live evidence sources of a control (0 for none). */
unsigned soa_live_sources(const char *control_id);

#endif

/*
 * gen.h - a deterministic synthetic municipality (`mamori gen`).
 *
 * Writes the ../shared/FORMATS.md files (systems, departments, staff,
 * residents, cases, overtime, access, labels) into an output folder. The
 * same scale and seed always give byte-identical files. Events are
 * streamed to disk with bounded memory at every scale. See docs/gen.md
 * for what is modelled: households, departments mapped to systems and
 * zones, office hours 08:45-17:30 on days the office is open, injected
 * misuse of every label kind, and legitimate hard negatives.
 */
#ifndef MAMORI_GEN_H
#define MAMORI_GEN_H

#include "base/base.h"

struct diag;

enum gen_scale { GEN_S = 0, GEN_M, GEN_L };
int gen_scale_parse(const char *s, enum gen_scale *out);

struct gen_opts {
	enum gen_scale scale;
	uint64_t seed;
	const char *outdir; /* created if missing; existing files are replaced */
	bool progress;      /* progress bar on stderr */
	/* Overrides for tests (0 = the scale's value). */
	size_t residents, staff, events;
};

/* The label kinds of labels.jsonl, in FORMATS.md order. */
enum gen_label {
	GEN_L_NONE = 0,
	GEN_L_UNEXPLAINED,
	GEN_L_DV_SUPPORT,
	GEN_L_RELATIVE,
	GEN_L_NEIGHBOUR,
	GEN_L_VIP,
	GEN_L_BULK_SCAN,
	GEN_L_OFF_HOURS,
	GEN_L_AFTER_END,
	GEN_L_UNTRAINED,
	GEN_L_EXPORT,
	GEN_L_COUNT
};
/* "unexplained", ... for 1..GEN_L_COUNT-1; NULL otherwise. */
const char *gen_label_name(int kind);

/* The legitimate hard negatives (unlabelled events the detector must accept). */
enum gen_hard {
	GEN_H_COVER = 0, /* colleague covering a case assigned to someone else */
	GEN_H_PRELOOKUP, /* view 1-20 min before the case is opened at the counter */
	GEN_H_HOUSEHOLD, /* household certificate: views of every member */
	GEN_H_NAMESAKE,  /* views of namesakes after a surname search */
	GEN_H_OVERTIME,  /* access outside office hours inside approved overtime */
	GEN_H_SURNAME,   /* staff shares the resident's surname, proper case exists */
	GEN_H_COUNT
};

/* What was written, for the summary line and for tests. */
struct gen_stats {
	size_t systems, departments, staff, residents, cases, overtime, events, labels;
	size_t label_kind[GEN_L_COUNT]; /* events labelled with each kind */
	size_t hard[GEN_H_COUNT];       /* events of each hard-negative kind */
	int32_t first_day, last_day;    /* the period (days since 1970-01-01) */
};

MM_WUR int gen_run(const struct gen_opts *o, struct gen_stats *stats, struct diag *d);

#endif

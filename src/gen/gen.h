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

/* What was written, for the summary line. */
struct gen_stats {
	size_t systems, departments, staff, residents, cases, overtime, events, labels;
};

MM_WUR int gen_run(const struct gen_opts *o, struct gen_stats *stats, struct diag *d);

#endif

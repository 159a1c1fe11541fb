/*
 * policy.h - the municipality's security policy as data, compiled into
 * decision tables, and decide().
 *
 * Three stages:
 *  1. policy_parse(): the policy file (YAML, reference in docs/policy.md)
 *     into a checked model (struct policy). Every error is reported with
 *     file, line and column; a policy with any error is never returned.
 *  2. decider_build(): the model plus a registry snapshot into compact
 *     in-memory tables (interned ids, role and zone bitmasks, cases per
 *     resident) — a struct decider, immutable once built.
 *  3. decide(): one request against a decider. Pure, allocation-free,
 *     thread-safe; no SQL, no I/O.
 *
 * policy_engine holds the current decider for a running server and swaps
 * it on reload (SIGHUP, POST /v1/admin/reload) while requests in flight
 * finish on the old one. policy_decide_recorded() is the one path by which
 * a decision is made and written to the ledger.
 */
#ifndef MAMORI_POLICY_H
#define MAMORI_POLICY_H

#include "base/base.h"

struct arena;
struct buf;
struct diag;
struct ledger;
struct registry_data;
struct watch_thresholds;

/* ---- the policy model ---- */

struct policy;

/* Parse policy text. name is used in messages (normally the file path). */
MM_WUR int policy_parse(const char *name, const char *text, size_t len, struct policy **out,
			struct diag *d);
/* Read (at most 4 MiB) and parse a policy file. */
MM_WUR int policy_load_file(const char *path, struct policy **out, struct diag *d);
void policy_free(struct policy *p); /* NULL is a no-op */
/* The effective policy, defaults filled in, as readable YAML. */
MM_WUR int policy_show(const struct policy *p, struct buf *out);
/* The thresholds of the watch rules that the policy's `watch:` section
 * sets, the defaults (WATCH_THRESHOLDS_DEFAULT, watch/thresholds.h) for
 * every field it does not name. Copies into *out; p is not changed. */
void policy_watch_thresholds(const struct policy *p, struct watch_thresholds *out);
/* The text of the default policy that `mamori init` writes. */
const char *policy_default_text(void);
/* Check that the ids the policy names (systems in overrides, ...) and the
 * ids the registry uses (roles, zones, flags) agree; mismatches are
 * warnings in d (a role in staff.jsonl that the policy does not define). */
void policy_check_registry(const struct policy *p, const struct registry_data *rd,
			   struct diag *d);

/* ---- requests and results (the decision contract, FORMATS.md) ---- */

enum action { ACT_SEARCH = 0, ACT_VIEW, ACT_UPDATE, ACT_PRINT, ACT_EXPORT, ACT__COUNT };
const char *action_name(enum action a);
int action_parse(const char *s, size_t len, enum action *out);

enum decision { DECISION_ALLOW = 0, DECISION_DENY = 1 };
enum effect { EFFECT_DENY = 0, EFFECT_WARN = 1 };

/* A decision request. Strings point into the caller's memory (or the arena
 * given to decide_req_parse); NULL when absent. */
struct decide_req {
	const char *staff_id;
	const char *resident_id;
	const char *system;
	const char *zone;
	const char *terminal;
	const char *case_id;
	enum action action;
	bool mfa;
	int64_t ts;
};

#define DECIDE_REQ_MAX ((size_t)64 * 1024)

/*
 * Parse one request object (JSON). now fills a missing ts. Strings are
 * copied into a. On error returns ERR_INVALID (or ERR_TOO_LARGE) and writes
 * a one-line explanation naming the field into err (both languages via T()).
 */
MM_WUR int decide_req_parse(const char *json, size_t len, int64_t now, struct arena *a,
			    struct decide_req *out, struct buf *err);

#define DECIDE_MAX_REASONS 32

struct decide_reason {
	const char *code; /* stable, e.g. "no_case", "training_expired" */
	enum effect effect;
	const char *ja, *en; /* sentences; point into the decider */
};

struct decide_res {
	enum decision decision;
	uint64_t obligations; /* bit i = the decider's obligation i */
	uint32_t nreasons;
	struct decide_reason reasons[DECIDE_MAX_REASONS];
	uint64_t ledger_index; /* UINT64_MAX when not recorded */
};

/* ---- compiled tables ---- */

struct decider;

MM_WUR int decider_build(const struct policy *p, const struct registry_data *rd,
			 struct decider **out, struct diag *d);
void decider_free(struct decider *dc); /* NULL is a no-op */
/* Name of obligation bit i ("alert"), or NULL. */
const char *decider_obligation_name(const struct decider *dc, unsigned i);

/* Decide. Never fails: unknown ids are themselves reasons to deny. */
void decide(const struct decider *dc, const struct decide_req *rq, struct decide_res *res);

/* Render the response object of the decision contract. */
MM_WUR int decide_res_json(const struct decider *dc, const struct decide_res *res,
			   struct buf *out);

/* ---- the live engine ---- */

struct policy_engine;

struct policy_engine *policy_engine_new(void);
void policy_engine_free(struct policy_engine *e); /* NULL is a no-op */
/* Install a new decider (the engine takes ownership). The old one is freed
 * when the last request using it releases it. */
void policy_engine_install(struct policy_engine *e, struct decider *dc);
/* Borrow the current decider (NULL if none); give it back with release. */
const struct decider *policy_engine_acquire(struct policy_engine *e);
void policy_engine_release(struct policy_engine *e, const struct decider *dc);

/*
 * Decide and record: the decision is appended to the ledger (kind
 * "decision", with the request, the decision, the reasons' codes and the
 * obligations) before this returns, and res->ledger_index is set. actor
 * names the caller (API key name, "cli"). Returns an error only if the
 * ledger append fails; then the decision must not be acted on.
 */
MM_WUR int policy_decide_recorded(const struct decider *dc, struct ledger *lg,
				  const struct decide_req *rq, const char *actor,
				  struct decide_res *res);

#endif

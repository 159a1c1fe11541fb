/*
 * decider.c - the policy and a registry snapshot compiled into tables, and
 * decide() over them.
 *
 * Compilation interns every id once: staff, residents and systems get
 * open-addressing hash indexes; roles, zones and the resident flags that
 * rules name become bits of a uint64_t; each department's systems become a
 * bit set; each resident points at its run of cases (sorted by opening
 * time). decide() is then a handful of hash look-ups and bit tests, with
 * no allocation, no lock and no I/O, so any number of threads may call it
 * on one decider at once.
 */
#include "base/base.h"

#include <pthread.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "policy/policy_int.h"
#include "registry/registry.h"

#define NONE_IDX (-1)
#define CASE_OPEN INT64_MAX
#define DAY_SEC 86400

/* An id as the hash index compares it: ids of up to 15 bytes are held
 * inline, NUL-padded, and compared as 16 bytes on the cache line of the
 * record itself; a longer id keeps its first 15 bytes with key[15] = 1 and
 * is compared in full through id. */
#define KEY_LEN 16

struct d_staff {
	char key[KEY_LEN];
	const char *id;
	int32_t dept;
	int32_t start, end, training, pledge; /* DAY_NONE when absent */
	uint64_t roles, zones;
};

struct d_resident {
	char key[KEY_LEN];
	const char *id;
	uint64_t flags;
	uint32_t case_first, case_n;
};

struct d_case {
	int32_t dept;
	int32_t assigned; /* staff index or NONE_IDX */
	int64_t opened, closed; /* closed = CASE_OPEN while open */
};

struct d_system {
	char key[KEY_LEN];
	const char *id;
	int32_t zone; /* policy zone index or NONE_IDX */
	bool enforce;
	uint32_t index;
};

struct d_rule {
	enum pol_check check;
	enum pol_effect effect;
	uint64_t on_deny, on_warn, on_record;
	int32_t max_age_days;
	uint64_t zones;
	uint64_t flagbit;
	uint64_t rolebit; /* 0: no role needed */
	bool assigned;
	int64_t grace_sec;
	uint32_t actions;
	enum pol_scope scope;
	const char *code, *ja, *en;
};

/* An index from id to position: open addressing, linear probing. A slot
 * holds the upper 32 bits of the id's hash and position + 1 (0 = empty),
 * so that a probe past another id rarely touches that id's record. */
struct d_index {
	uint64_t *slots;
	size_t mask;
};

struct decider {
	struct arena *arena;
	struct d_staff *staff;
	size_t nstaff;
	struct d_resident *residents;
	size_t nresidents;
	struct d_case *cases;
	size_t ncases;
	struct d_system *systems;
	size_t nsystems;
	uint64_t *dept_systems; /* ndepts rows of sys_words words */
	size_t ndepts, sys_words;
	size_t res_mask; /* residents is a hash table of res_mask + 1 places */
	struct d_index ix_staff, ix_sys;
	const char *zones[POL_MAX_SET];
	unsigned nzones;
	uint64_t action_roles[ACT__COUNT];
	uint64_t zone_roles[ACT__COUNT][POL_MAX_SET];
	struct d_rule rules[POL_MAX_RULES];
	unsigned nrules;
	const char *obligations[POL_MAX_SET];
	unsigned nobligations;
	/* the engine's bookkeeping, under its mutex */
	unsigned refs;
};

/* ---- hashing ---- */

/* FNV-1a over the bytes of a NUL-terminated id, with a final mix. */
static inline uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3u;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	return h ^ (h >> 32);
}

static void key_set(char key[KEY_LEN], const char *id)
{
	size_t n = strlen(id);
	memset(key, 0, KEY_LEN);
	if (n < KEY_LEN) {
		memcpy(key, id, n);
	} else {
		memcpy(key, id, KEY_LEN - 1);
		key[KEY_LEN - 1] = 1;
	}
}

/* A request's id prepared for look-ups. */
struct qkey {
	char key[KEY_LEN];
	const char *s;
	bool lng;
	uint64_t h;
};

static inline void qkey_make(struct qkey *q, const char *s)
{
	size_t n = strnlen(s, KEY_LEN);
	memset(q->key, 0, KEY_LEN);
	q->s = s;
	q->lng = n >= KEY_LEN;
	if (!q->lng)
		memcpy(q->key, s, n);
	q->h = id_hash(s);
}

static int index_build(struct arena *a, struct d_index *ix, size_t n,
		       const char *(*key)(const void *, size_t), const void *arr)
{
	size_t cap = 16, bytes;
	while (cap < n * 2) {
		if (cap > ((size_t)1 << 30))
			return ERR_TOO_LARGE;
		cap <<= 1;
	}
	if (size_mul(cap, sizeof(uint64_t), &bytes) < 0)
		return ERR_OVERFLOW;
	ix->slots = arena_zalloc(a, bytes);
	ix->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t hv = id_hash(key(arr, i));
		size_t h = (size_t)hv & ix->mask;
		while (ix->slots[h])
			h = (h + 1) & ix->mask;
		ix->slots[h] = (hv & 0xffffffff00000000u) | (uint64_t)(i + 1);
	}
	return 0;
}

static const char *staff_key(const void *arr, size_t i)
{
	return ((const struct d_staff *)arr)[i].id;
}
static const char *sys_key(const void *arr, size_t i)
{
	return ((const struct d_system *)arr)[i].id;
}

#define INDEX_FIND(ix, arr, q, out)                                                        \
	do {                                                                                \
		size_t h_ = (size_t)(q)->h & (ix).mask;                                     \
		uint64_t tag_ = (q)->h & 0xffffffff00000000u;                               \
		(out) = NULL;                                                               \
		for (uint64_t s_; (s_ = (ix).slots[h_]) != 0; h_ = (h_ + 1) & (ix).mask) {  \
			if ((s_ & 0xffffffff00000000u) != tag_)                             \
				continue;                                                   \
			const __typeof__(&(arr)[0]) e_ = &(arr)[(uint32_t)s_ - 1];          \
			if ((q)->lng ? (e_->key[KEY_LEN - 1] == 1 && !strcmp(e_->id, (q)->s)) \
				     : !memcmp(e_->key, (q)->key, KEY_LEN)) {               \
				(out) = e_;                                                 \
				break;                                                      \
			}                                                                   \
		}                                                                           \
	} while (0)

/* ---- building ---- */

/* Ids are copied into the decider (it outlives the registry snapshot),
 * packed end to end in 1 MiB blocks: no per-string alignment padding. */
struct strpool {
	struct arena *arena;
	char *p;
	size_t left;
};

static const char *pool_dup(struct strpool *sp, const char *s)
{
	size_t n = strlen(s) + 1;
	char *q;
	if (n > sp->left) {
		size_t sz = n > ((size_t)1 << 20) ? n : ((size_t)1 << 20);
		sp->p = arena_alloc(sp->arena, sz);
		sp->left = sz;
	}
	q = sp->p;
	memcpy(q, s, n);
	sp->p += n;
	sp->left -= n;
	return q;
}

/* Binary search of the snapshot's arrays, which are sorted by id; every
 * registry record starts with its id. */
static int find_sorted(const void *arr, size_t n, size_t stride, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(*(const char *const *)((const char *)arr + mid * stride), id);
		if (!c)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE_IDX;
}

_Static_assert(offsetof(struct reg_department, id) == 0, "id first");
_Static_assert(offsetof(struct reg_staff, id) == 0, "id first");
_Static_assert(offsetof(struct reg_system, id) == 0, "id first");

#define find_sorted_dept(rd, id) \
	find_sorted((rd)->departments, (rd)->ndepartments, sizeof(*(rd)->departments), (id))
#define find_sorted_staff(rd, id) find_sorted((rd)->staff, (rd)->nstaff, sizeof(*(rd)->staff), (id))
#define find_sorted_system(rd, id) \
	find_sorted((rd)->systems, (rd)->nsystems, sizeof(*(rd)->systems), (id))

static uint64_t names_to_bits(const struct strlist *l, const char *const *names, unsigned n)
{
	uint64_t bits = 0;
	for (uint32_t i = 0; i < l->n; i++)
		for (unsigned k = 0; k < n; k++)
			if (!strcmp(l->v[i], names[k]))
				bits |= (uint64_t)1 << k;
	return bits;
}

int decider_build(const struct policy *p, const struct registry_data *rd, struct decider **out,
		  struct diag *d)
{
	struct decider *dc;
	const char *roles[POL_MAX_SET], *flags[POL_MAX_SET];
	unsigned nflags = 0;
	size_t bytes;
	int r = 0;

	*out = NULL;
	if (rd->nstaff > INT32_MAX / 2 || rd->nresidents > UINT32_MAX / 4 ||
	    rd->ncases > UINT32_MAX / 2 || rd->nsystems > INT32_MAX / 2 ||
	    rd->ndepartments > INT32_MAX / 2) {
		diag_error(d, NULL, 0, 0, NULL, "%s", T("台帳が大きすぎます", "the registry is too large"));
		return ERR_TOO_LARGE;
	}
	dc = xcalloc(1, sizeof(*dc));
	dc->arena = arena_new((size_t)1 << 20);
	struct strpool sp = {dc->arena, NULL, 0};

	for (unsigned i = 0; i < p->nroles; i++)
		roles[i] = p->roles[i].id;
	for (unsigned i = 0; i < p->nzones; i++)
		dc->zones[i] = arena_strdup(dc->arena, p->zones[i].id);
	dc->nzones = p->nzones;
	for (unsigned i = 0; i < p->nobligations; i++)
		dc->obligations[i] = arena_strdup(dc->arena, p->obligations[i]);
	dc->nobligations = p->nobligations;
	for (unsigned a = 0; a < ACT__COUNT; a++) {
		dc->action_roles[a] = p->actions[a].roles;
		for (unsigned z = 0; z < p->nzones; z++)
			dc->zone_roles[a][z] = p->actions[a].zone_roles[z];
	}

	/* Rules, with the flags they name interned as bits. */
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct pol_rule *pr = &p->rules[i];
		struct d_rule *dr = &dc->rules[i];
		char ja[POL_TEXT_MAX], en[POL_TEXT_MAX];
		dr->check = pr->check;
		dr->effect = pr->effect;
		dr->on_deny = pr->on_deny;
		dr->on_warn = pr->on_warn;
		dr->on_record = pr->on_record;
		dr->max_age_days = pr->max_age_days;
		dr->zones = pr->zones;
		dr->rolebit = pr->role >= 0 ? (uint64_t)1 << pr->role : 0;
		dr->assigned = pr->assigned_case;
		dr->grace_sec = (int64_t)pr->grace_days * DAY_SEC;
		dr->actions = pr->actions;
		dr->scope = pr->scope;
		dr->code = arena_strdup(dc->arena, pr->code);
		pol_rule_sentences(p, pr, ja, en);
		dr->ja = arena_strdup(dc->arena, ja);
		dr->en = arena_strdup(dc->arena, en);
		if (pr->check == CHK_FLAGGED_RESIDENT) {
			unsigned k;
			for (k = 0; k < nflags; k++)
				if (!strcmp(flags[k], pr->flag))
					break;
			if (k == nflags)
				flags[nflags++] = pr->flag;
			dr->flagbit = (uint64_t)1 << k;
		}
	}
	dc->nrules = p->nrules;

	/* Systems: the zone as a policy index, the need-to-know mode resolved
	 * (the policy's per-system setting, else the registry's, else the
	 * policy's default). */
	dc->nsystems = rd->nsystems;
	dc->systems = arena_zalloc(dc->arena, (rd->nsystems + 1) * sizeof(*dc->systems));
	for (size_t i = 0; i < rd->nsystems; i++) {
		const struct reg_system *s = &rd->systems[i];
		enum need_to_know m = s->need_to_know != NTK_DEFAULT ? s->need_to_know : p->ntk_default;
		for (unsigned k = 0; k < p->nntk; k++)
			if (!strcmp(p->ntk[k].system, s->id))
				m = p->ntk[k].mode;
		dc->systems[i].id = pool_dup(&sp, s->id);
		key_set(dc->systems[i].key, s->id);
		{
			int pz = pol_system_zone(p, s->id);
			dc->systems[i].zone = pz >= 0 ? pz : pol_zone_index(p, s->zone);
		}
		dc->systems[i].enforce = m == NTK_ENFORCE;
		dc->systems[i].index = (uint32_t)i;
	}

	/* Departments' systems as bit sets over system positions. */
	dc->ndepts = rd->ndepartments;
	dc->sys_words = (rd->nsystems + 63) / 64;
	if (size_mul(dc->ndepts + 1, dc->sys_words + 1, &bytes) < 0 ||
	    size_mul(bytes, sizeof(uint64_t), &bytes) < 0) {
		r = ERR_OVERFLOW;
		goto out;
	}
	dc->dept_systems = arena_zalloc(dc->arena, bytes);
	for (size_t i = 0; i < rd->ndepartments; i++) {
		const struct strlist *l = &rd->departments[i].systems;
		for (uint32_t k = 0; k < l->n; k++) {
			int si = find_sorted_system(rd, l->v[k]);
			if (si >= 0)
				dc->dept_systems[i * dc->sys_words + (size_t)si / 64] |=
					(uint64_t)1 << (si % 64);
		}
	}

	dc->nstaff = rd->nstaff;
	dc->staff = arena_zalloc(dc->arena, (rd->nstaff + 1) * sizeof(*dc->staff));
	for (size_t i = 0; i < rd->nstaff; i++) {
		const struct reg_staff *s = &rd->staff[i];
		struct d_staff *ds = &dc->staff[i];
		ds->id = pool_dup(&sp, s->id);
		key_set(ds->key, s->id);
		ds->dept = find_sorted_dept(rd, s->dept);
		ds->start = s->start;
		ds->end = s->end;
		ds->training = s->training;
		ds->pledge = s->pledge;
		ds->roles = names_to_bits(&s->roles, roles, p->nroles);
		ds->zones = names_to_bits(&s->zones, dc->zones, dc->nzones);
	}

	/* Cases are sorted by resident then opening time in the snapshot, so
	 * each resident's cases are one run. */
	dc->ncases = rd->ncases;
	dc->cases = arena_zalloc(dc->arena, (rd->ncases + 1) * sizeof(*dc->cases));
	for (size_t i = 0; i < rd->ncases; i++) {
		const struct reg_case *c = &rd->cases[i];
		dc->cases[i].dept = find_sorted_dept(rd, c->dept);
		dc->cases[i].assigned = c->assigned_to ? find_sorted_staff(rd, c->assigned_to) : NONE_IDX;
		dc->cases[i].opened = c->opened;
		dc->cases[i].closed = c->closed == TS_NONE ? CASE_OPEN : c->closed;
	}
	/*
	 * Residents are the one large table a decision touches, so they live
	 * in the hash table itself (open addressing over records, load at most
	 * one half): a look-up reads one record's cache line, not a slot and
	 * then a record. An empty place has id NULL.
	 */
	{
		size_t cap = 16, ci = 0, bytes;
		while (cap < rd->nresidents * 2)
			cap <<= 1; /* nresidents <= UINT32_MAX / 4, checked above */
		if (size_mul(cap, sizeof(*dc->residents), &bytes) < 0) {
			r = ERR_OVERFLOW;
			goto out;
		}
		dc->residents = arena_zalloc(dc->arena, bytes);
		dc->res_mask = cap - 1;
		dc->nresidents = rd->nresidents;
		for (size_t i = 0; i < rd->nresidents; i++) {
			const struct reg_resident *res = &rd->residents[i];
			size_t h = (size_t)id_hash(res->id) & dc->res_mask;
			struct d_resident *dr;
			while (dc->residents[h].id)
				h = (h + 1) & dc->res_mask;
			dr = &dc->residents[h];
			dr->id = pool_dup(&sp, res->id);
			key_set(dr->key, res->id);
			dr->flags = names_to_bits(&res->flags, flags, nflags);
			/* Both arrays are sorted by resident id: merge. */
			while (ci < rd->ncases && strcmp(rd->cases[ci].resident_id, res->id) < 0)
				ci++;
			dr->case_first = (uint32_t)ci;
			while (ci < rd->ncases && !strcmp(rd->cases[ci].resident_id, res->id))
				ci++;
			dr->case_n = (uint32_t)(ci - dr->case_first);
		}
	}

	if ((r = index_build(dc->arena, &dc->ix_staff, dc->nstaff, staff_key, dc->staff)) < 0 ||
	    (r = index_build(dc->arena, &dc->ix_sys, dc->nsystems, sys_key, dc->systems)) < 0) {
		diag_error(d, NULL, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	*out = dc;
	dc = NULL;
out:
	decider_free(dc);
	return r;
}

void decider_free(struct decider *dc)
{
	if (!dc)
		return;
	arena_free(dc->arena);
	free(dc);
}

const char *decider_obligation_name(const struct decider *dc, unsigned i)
{
	return i < dc->nobligations ? dc->obligations[i] : NULL;
}

/* ---- deciding ---- */

static void fire(struct decide_res *res, const struct d_rule *r, const struct d_system *sys)
{
	enum effect eff;
	if (r->effect == PEFF_BY_SYSTEM)
		eff = sys->enforce ? EFFECT_DENY : EFFECT_WARN;
	else
		eff = r->effect == PEFF_DENY ? EFFECT_DENY : EFFECT_WARN;
	if (eff == EFFECT_DENY) {
		res->decision = DECISION_DENY;
		res->obligations |= r->on_deny;
	} else {
		res->obligations |= r->on_warn;
	}
	/* nrules <= DECIDE_MAX_REASONS, so this always fits. */
	struct decide_reason *o = &res->reasons[res->nreasons++];
	o->code = r->code;
	o->effect = eff;
	o->ja = r->ja;
	o->en = r->en;
}

/* A case counts at ts if it was opened at or before ts and is open, or was
 * closed at most grace seconds before ts. */
static inline bool case_live(const struct d_case *c, int64_t ts, int64_t grace)
{
	return c->opened <= ts && (c->closed == CASE_OPEN || ts - grace <= c->closed);
}

void decide(const struct decider *dc, const struct decide_req *rq, struct decide_res *res)
{
	const struct d_staff *st;
	const struct d_system *sys;
	const struct d_resident *rs = NULL;
	bool res_missing;
	int zi = NONE_IDX;
	int32_t day;

	res->decision = DECISION_ALLOW;
	res->obligations = 0;
	res->nreasons = 0;
	res->ledger_index = UINT64_MAX;

	struct qkey q;
	if (rq->staff_id) {
		qkey_make(&q, rq->staff_id);
		INDEX_FIND(dc->ix_staff, dc->staff, &q, st);
	} else {
		st = NULL;
	}
	if (rq->system) {
		qkey_make(&q, rq->system);
		INDEX_FIND(dc->ix_sys, dc->systems, &q, sys);
	} else {
		sys = NULL;
	}
	if (rq->resident_id) {
		size_t h;
		qkey_make(&q, rq->resident_id);
		for (h = (size_t)q.h & dc->res_mask; dc->residents[h].id; h = (h + 1) & dc->res_mask) {
			const struct d_resident *e = &dc->residents[h];
			if (q.lng ? (e->key[KEY_LEN - 1] == 1 && !strcmp(e->id, q.s))
				  : !memcmp(e->key, q.key, KEY_LEN)) {
				rs = e;
				break;
			}
		}
		res_missing = rs == NULL;
	} else {
		res_missing = rq->action != ACT_SEARCH;
	}
	if (rq->zone)
		for (unsigned i = 0; i < dc->nzones; i++)
			if (!strcmp(dc->zones[i], rq->zone)) {
				zi = (int)i;
				break;
			}
	day = ts_jst_day(rq->ts);

	for (unsigned i = 0; i < dc->nrules; i++) {
		const struct d_rule *r = &dc->rules[i];
		bool bad = false;

		switch (r->check) {
		case CHK_KNOWN_STAFF:
			if (!st)
				fire(res, r, sys);
			continue;
		case CHK_KNOWN_SYSTEM:
			if (!sys)
				fire(res, r, sys);
			continue;
		case CHK_KNOWN_RESIDENT:
			if (res_missing)
				fire(res, r, sys);
			continue;
		case CHK_FLAGGED_RESIDENT:
			/* Every decision on a flagged record carries these, even one
			 * denied for another reason: the attempt itself matters. */
			if (rs && (rs->flags & r->flagbit))
				res->obligations |= r->on_record;
			break;
		default: break;
		}
		/* Without the person or the system there is nothing to hold the
		 * other rules against; the known_* rules have denied already. */
		if (!st || !sys)
			continue;

		switch (r->check) {
		case CHK_EMPLOYMENT_PERIOD:
			bad = st->start == DAY_NONE || day < st->start ||
			      (st->end != DAY_NONE && day > st->end);
			break;
		case CHK_TRAINING_RECENT:
			bad = st->training == DAY_NONE ||
			      (int64_t)st->training < (int64_t)day - r->max_age_days;
			break;
		case CHK_PLEDGE_SIGNED:
			bad = st->pledge == DAY_NONE || st->pledge > day;
			break;
		case CHK_ZONE_MATCH:
			bad = zi < 0 || zi != sys->zone || !(st->zones & ((uint64_t)1 << zi));
			break;
		case CHK_MFA_REQUIRED:
			bad = zi >= 0 && (r->zones & ((uint64_t)1 << zi)) && !rq->mfa;
			break;
		case CHK_DEPARTMENT_SYSTEM:
			bad = st->dept < 0 ||
			      !(dc->dept_systems[(size_t)st->dept * dc->sys_words + sys->index / 64] &
				((uint64_t)1 << (sys->index % 64)));
			break;
		case CHK_ACTION_ROLES: {
			uint64_t need = dc->action_roles[rq->action];
			if (sys->zone >= 0)
				need |= dc->zone_roles[rq->action][sys->zone];
			bad = (st->roles & need) != need;
			break;
		}
		case CHK_FLAGGED_RESIDENT: {
			bool ok;
			if (!rs || !(rs->flags & r->flagbit))
				continue;
			ok = !r->rolebit || (st->roles & r->rolebit);
			if (ok && r->assigned) {
				int32_t me = (int32_t)(st - dc->staff);
				ok = false;
				for (uint32_t k = 0; k < rs->case_n; k++) {
					const struct d_case *c = &dc->cases[rs->case_first + k];
					if (c->assigned == me && case_live(c, rq->ts, r->grace_sec)) {
						ok = true;
						break;
					}
				}
			}
			bad = !ok;
			break;
		}
		case CHK_NEED_TO_KNOW: {
			int32_t me = (int32_t)(st - dc->staff);
			if (!rs || !(r->actions & (1u << rq->action)))
				continue;
			bad = true;
			for (uint32_t k = 0; k < rs->case_n; k++) {
				const struct d_case *c = &dc->cases[rs->case_first + k];
				bool mine = r->scope == SCOPE_ASSIGNED ? c->assigned == me
								       : (st->dept >= 0 && c->dept == st->dept);
				if (mine && case_live(c, rq->ts, r->grace_sec)) {
					bad = false;
					break;
				}
			}
			break;
		}
		default: break;
		}
		if (bad)
			fire(res, r, sys);
	}
}

int decide_res_json(const struct decider *dc, const struct decide_res *res, struct buf *out)
{
	int r;
	bool first = true;

	r = buf_printf(out, "{\"decision\":\"%s\",\"obligations\":[",
		       res->decision == DECISION_ALLOW ? "allow" : "deny");
	for (unsigned i = 0; i < dc->nobligations && r >= 0; i++) {
		if (!(res->obligations & ((uint64_t)1 << i)))
			continue;
		if (!first)
			r = buf_putc(out, ',');
		first = false;
		if (r >= 0)
			r = buf_json_str(out, dc->obligations[i], strlen(dc->obligations[i]));
	}
	if (r >= 0)
		r = buf_puts(out, "],\"reasons\":[");
	for (uint32_t i = 0; i < res->nreasons && r >= 0; i++) {
		const struct decide_reason *o = &res->reasons[i];
		if (i)
			r = buf_putc(out, ',');
		if (r >= 0)
			r = buf_puts(out, "{\"code\":");
		if (r >= 0)
			r = buf_json_str(out, o->code, strlen(o->code));
		if (r >= 0)
			r = buf_printf(out, ",\"effect\":\"%s\",\"ja\":",
				       o->effect == EFFECT_DENY ? "deny" : "warn");
		if (r >= 0)
			r = buf_json_str(out, o->ja, strlen(o->ja));
		if (r >= 0)
			r = buf_puts(out, ",\"en\":");
		if (r >= 0)
			r = buf_json_str(out, o->en, strlen(o->en));
		if (r >= 0)
			r = buf_putc(out, '}');
	}
	if (r >= 0) {
		if (res->ledger_index == UINT64_MAX)
			r = buf_puts(out, "],\"ledger_index\":null}");
		else
			r = buf_printf(out, "],\"ledger_index\":%llu}",
				       (unsigned long long)res->ledger_index);
	}
	return r;
}

/* ---- recording ---- */

static int json_str_or_null(struct buf *b, const char *s)
{
	return s ? buf_json_str(b, s, strlen(s)) : buf_puts(b, "null");
}

int policy_decide_recorded(const struct decider *dc, struct ledger *lg, const struct decide_req *rq,
			   const char *actor, struct decide_res *res)
{
	struct buf body;
	char ts[TS_TEXT_MAX];
	uint64_t index;
	int r;

	decide(dc, rq, res);
	buf_init(&body, LEDGER_BODY_MAX);
	ts_format_jst(rq->ts, ts);
	r = buf_puts(&body, "{\"request\":{\"staff_id\":");
	if (r >= 0)
		r = json_str_or_null(&body, rq->staff_id);
	if (r >= 0)
		r = buf_printf(&body, ",\"action\":\"%s\",\"resident_id\":", action_name(rq->action));
	if (r >= 0)
		r = json_str_or_null(&body, rq->resident_id);
	if (r >= 0)
		r = buf_puts(&body, ",\"system\":");
	if (r >= 0)
		r = json_str_or_null(&body, rq->system);
	if (r >= 0)
		r = buf_puts(&body, ",\"zone\":");
	if (r >= 0)
		r = json_str_or_null(&body, rq->zone);
	if (r >= 0)
		r = buf_puts(&body, ",\"terminal\":");
	if (r >= 0)
		r = json_str_or_null(&body, rq->terminal);
	if (r >= 0)
		r = buf_puts(&body, ",\"case_id\":");
	if (r >= 0)
		r = json_str_or_null(&body, rq->case_id);
	if (r >= 0)
		r = buf_printf(&body, ",\"mfa\":%s,\"ts\":\"%s\"},\"decision\":\"%s\",\"reasons\":[",
			       rq->mfa ? "true" : "false", ts,
			       res->decision == DECISION_ALLOW ? "allow" : "deny");
	for (uint32_t i = 0; i < res->nreasons && r >= 0; i++) {
		if (i)
			r = buf_putc(&body, ',');
		if (r >= 0)
			r = buf_puts(&body, "{\"code\":");
		if (r >= 0)
			r = buf_json_str(&body, res->reasons[i].code, strlen(res->reasons[i].code));
		if (r >= 0)
			r = buf_printf(&body, ",\"effect\":\"%s\"}",
				       res->reasons[i].effect == EFFECT_DENY ? "deny" : "warn");
	}
	if (r >= 0)
		r = buf_puts(&body, "],\"obligations\":[");
	{
		bool first = true;
		for (unsigned i = 0; i < dc->nobligations && r >= 0; i++) {
			if (!(res->obligations & ((uint64_t)1 << i)))
				continue;
			if (!first)
				r = buf_putc(&body, ',');
			first = false;
			if (r >= 0)
				r = buf_json_str(&body, dc->obligations[i], strlen(dc->obligations[i]));
		}
	}
	if (r >= 0)
		r = buf_puts(&body, "]}");
	if (r < 0)
		goto out;
	{
		struct audit_rec rec = {"decision", TS_NONE, actor, body.data, body.len};
		if ((r = ledger_append(lg, &rec, &index)) < 0)
			goto out;
	}
	res->ledger_index = index;
out:
	buf_release(&body);
	return r;
}

/* ---- the live engine ---- */

struct policy_engine {
	pthread_mutex_t mu;
	struct decider *cur;
};

struct policy_engine *policy_engine_new(void)
{
	struct policy_engine *e = xcalloc(1, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
	return e;
}

void policy_engine_free(struct policy_engine *e)
{
	if (!e)
		return;
	BUG_ON(e->cur && e->cur->refs);
	decider_free(e->cur);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void policy_engine_install(struct policy_engine *e, struct decider *dc)
{
	struct decider *old;
	pthread_mutex_lock(&e->mu);
	old = e->cur;
	e->cur = dc;
	/* An old decider still in use is freed by its last release. */
	if (old && old->refs)
		old = NULL;
	pthread_mutex_unlock(&e->mu);
	decider_free(old);
}

const struct decider *policy_engine_acquire(struct policy_engine *e)
{
	struct decider *dc;
	pthread_mutex_lock(&e->mu);
	dc = e->cur;
	if (dc)
		dc->refs++;
	pthread_mutex_unlock(&e->mu);
	return dc;
}

void policy_engine_release(struct policy_engine *e, const struct decider *cdc)
{
	struct decider *dc = (struct decider *)cdc, *dead = NULL;
	pthread_mutex_lock(&e->mu);
	BUG_ON(dc->refs == 0);
	if (--dc->refs == 0 && dc != e->cur)
		dead = dc;
	pthread_mutex_unlock(&e->mu);
	decider_free(dead);
}

/* ---- registry against policy ---- */

void policy_check_registry(const struct policy *p, const struct registry_data *rd, struct diag *d)
{
	/* One warning per distinct unknown name, not one per person. */
	const char *seen[64];
	unsigned nseen = 0;

	for (size_t i = 0; i < rd->nstaff; i++) {
		const struct reg_staff *s = &rd->staff[i];
		for (uint32_t k = 0; k < s->roles.n; k++) {
			const char *role = s->roles.v[k];
			bool dup = false;
			if (pol_role_index(p, role) >= 0)
				continue;
			for (unsigned j = 0; j < nseen; j++)
				dup = dup || !strcmp(seen[j], role);
			if (dup)
				continue;
			if (nseen < ARRAY_SIZE(seen))
				seen[nseen++] = role;
			diag_warn(d, "staff", 0, 0, "roles",
				  T("職員 %s の役割 '%s' はポリシーで定義されていないため無視されます",
				    "staff %s: role '%s' is not defined in the policy and is ignored"),
				  s->id, role);
		}
		for (uint32_t k = 0; k < s->zones.n; k++) {
			const char *z = s->zones.v[k];
			bool dup = false;
			if (pol_zone_index(p, z) >= 0)
				continue;
			for (unsigned j = 0; j < nseen; j++)
				dup = dup || !strcmp(seen[j], z);
			if (dup)
				continue;
			if (nseen < ARRAY_SIZE(seen))
				seen[nseen++] = z;
			diag_warn(d, "staff", 0, 0, "zones",
				  T("職員 %s の領域 '%s' はポリシーで定義されていないため無視されます",
				    "staff %s: zone '%s' is not defined in the policy and is ignored"),
				  s->id, z);
		}
	}
	for (size_t i = 0; i < rd->nsystems; i++) {
		const struct reg_system *s = &rd->systems[i];
		bool known = false;
		int pz = pol_system_zone(p, s->id);
		if (pz >= 0 && strcmp(p->zones[pz].id, s->zone))
			diag_warn(d, "systems", 0, 0, "zone",
				  T("システム %s: 台帳の領域 '%s' とポリシーの領域 '%s' が異なります（ポリシーに従います）",
				    "system %s: the registry puts it in zone '%s', the policy in '%s' (the policy applies)"),
				  s->id, s->zone, p->zones[pz].id);
		else if (pz < 0 && pol_zone_index(p, s->zone) < 0)
			diag_warn(d, "systems", 0, 0, "zone",
				  T("システム %s の領域 '%s' はポリシーで定義されていません（領域の一致は常に不成立になります）",
				    "system %s: zone '%s' is not defined in the policy (zone checks will always fail)"),
				  s->id, s->zone);
		if (s->confidentiality && p->nconf) {
			for (unsigned k = 0; k < p->nconf; k++)
				known = known || !strcmp(p->conf[k].id, s->confidentiality);
			if (!known)
				diag_warn(d, "systems", 0, 0, "confidentiality",
					  T("システム %s の機密性 '%s' はポリシーの分類にありません",
					    "system %s: confidentiality '%s' is not in the policy's classification"),
					  s->id, s->confidentiality);
		}
	}
	for (unsigned z = 0; z < p->nzones; z++)
		for (unsigned k = 0; k < p->zones[z].nsystems; k++) {
			bool known = false;
			for (size_t i = 0; i < rd->nsystems && !known; i++)
				known = !strcmp(rd->systems[i].id, p->zones[z].systems[k]);
			if (!known)
				diag_warn(d, "policy", 0, 0, "zones.systems",
					  T("システム '%s' は台帳にありません", "system '%s' is not in the registry"),
					  p->zones[z].systems[k]);
		}
	for (unsigned k = 0; k < p->nntk; k++) {
		bool known = false;
		for (size_t i = 0; i < rd->nsystems && !known; i++)
			known = !strcmp(rd->systems[i].id, p->ntk[k].system);
		if (!known)
			diag_warn(d, "policy", 0, 0, "systems.need_to_know",
				  T("システム '%s' は台帳にありません", "system '%s' is not in the registry"),
				  p->ntk[k].system);
	}
}

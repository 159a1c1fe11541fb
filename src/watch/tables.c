/*
 * tables.c - the registry compiled into the compact tables the watch
 * engine reads for every event: open-addressing hash maps from id to
 * index, cases grouped per resident, household members, overtime per
 * staff, and the peer group of each member of staff.
 */
#include "base/base.h"
#include "base/timeutil.h"
#include "registry/registry.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over len bytes: ids are short ASCII strings, this spreads them
 * well. */
static uint64_t mem_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint32_t watch_str_hash(const char *s)
{
	uint64_t h = mem_hash(s, strlen(s));
	uint32_t v = (uint32_t)(h ^ (h >> 32));
	return v ? v : 1;
}

int idmap_init(struct idmap *m, size_t n)
{
	size_t cap = 16;
	/* Load at most 3/4: a slot is 32 bytes and the case map large. */
	while (cap - cap / 4 < n + 1) {
		if (cap > SIZE_MAX / 4)
			return ERR_OVERFLOW;
		cap *= 2;
	}
	m->slot = xcalloc_huge(cap, sizeof(*m->slot));
	m->cap = cap;
	m->n = 0;
	return 0;
}

void idmap_release(struct idmap *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* Does slot e hold the key (key, len) whose zero-padded form is pad (when
 * len < IDMAP_INLINE)? */
static bool slot_is(const struct idslot *e, const char *key, size_t len, const char *pad)
{
	if (len < IDMAP_INLINE) {
		uint64_t a0, a1, b0, b1;
		memcpy(&a0, e->inl, 8);
		memcpy(&a1, e->inl + 8, 8);
		memcpy(&b0, pad, 8);
		memcpy(&b1, pad + 8, 8);
		return a0 == b0 && a1 == b1;
	}
	return e->inl[IDMAP_INLINE - 1] == 1 && strncmp(e->key, key, len) == 0 &&
	       e->key[len] == '\0';
}

void idmap_prefetch(const struct idmap *m, const char *key, size_t len)
{
	if (key && m->cap)
		__builtin_prefetch(&m->slot[(size_t)mem_hash(key, len) & (m->cap - 1)]);
}

uint32_t idmap_get_n(const struct idmap *m, const char *key, size_t len)
{
	const struct idslot *e = idmap_slot_n(m, key, len);
	return e ? e->val : WT_NONE;
}

const struct idslot *idmap_slot_n(const struct idmap *m, const char *key, size_t len)
{
	char pad[IDMAP_INLINE] = {0};
	if (!key || !m->cap)
		return NULL;
	uint64_t h = mem_hash(key, len);
	uint32_t h32 = (uint32_t)(h >> 32);
	size_t mask = m->cap - 1, i = (size_t)h & mask;
	if (len < IDMAP_INLINE)
		memcpy(pad, key, len);
	while (m->slot[i].key) {
		const struct idslot *e = &m->slot[i];
		if (e->hash == h32 && slot_is(e, key, len, pad))
			return e;
		i = (i + 1) & mask;
	}
	return NULL;
}

uint32_t idmap_get(const struct idmap *m, const char *key)
{
	if (!key || !m->cap)
		return WT_NONE;
	return idmap_get_n(m, key, strlen(key));
}

/* idmap_intern for a key of length len whose mem_hash is h. */
static uint32_t idmap_intern_h(struct idmap *m, const char *key, size_t len, uint64_t h,
			       uint32_t *next)
{
	char pad[IDMAP_INLINE] = {0};
	uint32_t h32 = (uint32_t)(h >> 32);
	size_t mask = m->cap - 1, i = (size_t)h & mask;
	if (len < IDMAP_INLINE)
		memcpy(pad, key, len);
	while (m->slot[i].key) {
		const struct idslot *e = &m->slot[i];
		if (e->hash == h32 && slot_is(e, key, len, pad))
			return e->val;
		i = (i + 1) & mask;
	}
	if (m->n + 1 > m->cap - m->cap / 4) {
		/* Full beyond 3/4: double (the department map learns ids
		 * from staff and cases, so its size is not known ahead). */
		struct idmap g;
		uint32_t v = (*next)++, give = v;
		if (idmap_init(&g, m->cap) < 0)
			BUG("idmap size");
		for (size_t k = 0; k < m->cap; k++)
			if (m->slot[k].key) {
				uint32_t keep = m->slot[k].val;
				(void)idmap_intern(&g, m->slot[k].key, &keep);
			}
		(void)idmap_intern(&g, key, &give);
		idmap_release(m);
		*m = g;
		return v;
	}
	struct idslot *e = &m->slot[i];
	e->key = key;
	e->hash = h32;
	e->val = (*next)++;
	if (len < IDMAP_INLINE)
		memcpy(e->inl, pad, IDMAP_INLINE);
	else
		e->inl[IDMAP_INLINE - 1] = 1;
	m->n++;
	return e->val;
}

/* Insert key if absent with value *next (then ++*next); the key's value
 * either way. The map must have been sized for every key. */
uint32_t idmap_intern(struct idmap *m, const char *key, uint32_t *next)
{
	size_t len = strlen(key);
	return idmap_intern_h(m, key, len, mem_hash(key, len), next);
}

/*
 * A memo of the last value found for a few string pointers: a million
 * cases name a few hundred departments and members of staff, and the
 * registry's loader hands out one pointer per distinct value, so most
 * lookups end here without hashing. Keyed by the pointer, it is right
 * however the strings were stored: one pointer is one string.
 */
#define PTR_MEMO_BITS 10
#define PTR_MEMO (1u << PTR_MEMO_BITS)
struct ptr_memo {
	const char *p[PTR_MEMO]; /* NULL: empty */
	uint32_t v[PTR_MEMO];
};

static size_t ptr_memo_slot(const char *p)
{
	return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL) >> (64 - PTR_MEMO_BITS));
}

static bool strlist_has(const struct strlist *l, const char *s)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* The peer-group key of a member of staff: department and the sorted set
 * of roles (roles arrive in any order; the set is what matters). */
static char *group_key(const struct reg_staff *s)
{
	struct buf b;
	const char **v = xcalloc(s->roles.n + 1, sizeof(*v));
	char *out;
	size_t len;
	buf_init(&b, BUF_MAX_DEFAULT);
	for (uint32_t i = 0; i < s->roles.n; i++) {
		uint32_t j = i;
		while (j > 0 && strcmp(v[j - 1], s->roles.v[i]) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = s->roles.v[i];
	}
	if (buf_puts(&b, s->dept ? s->dept : "") < 0)
		BUG("group key");
	for (uint32_t i = 0; i < s->roles.n; i++)
		if (buf_putc(&b, '|') < 0 || buf_puts(&b, v[i]) < 0)
			BUG("group key");
	if (buf_putc(&b, '\0') < 0)
		BUG("group key");
	free(v);
	out = buf_detach(&b, &len);
	return out;
}

/* Residents are put in their maps this many ahead of being prefetched. */
#define RES_AHEAD 8

/* Case ids are hashed as they are copied; the id strings lie in the
 * arena in the order the store gave them, not in the order of the cases,
 * so each is fetched CASE_AHEAD cases ahead. */
#define CASE_AHEAD 16

/* The cases of reg into t->cases, and the number of cases per resident
 * into t->res_case_first[1..]. */
static void cases_build(struct watch_tables *t, const struct registry_data *reg)
{
	struct ptr_memo *dept = xcalloc(1, sizeof(*dept)), *staff = xcalloc(1, sizeof(*staff));
	const char *last_res = NULL;
	uint32_t last_rx = WT_NONE;
	size_t n = t->ncases;

	for (size_t i = 0; i < n; i++) {
		const struct reg_case *rc = &reg->cases[i];
		struct wt_case *c = &t->cases[i];

		if (i + CASE_AHEAD < n)
			__builtin_prefetch(reg->cases[i + CASE_AHEAD].id);
		c->id = rc->id;
		c->idh = watch_str_hash(rc->id);
		c->opened = rc->opened;
		c->closed = rc->closed == TS_NONE ? INT64_MAX : rc->closed;
		/* Cases come sorted by resident: a run of them names one. */
		if (!last_res || rc->resident_id != last_res) {
			last_res = rc->resident_id;
			last_rx = idmap_get(&t->res_ids, rc->resident_id);
		}
		c->res = last_rx;
		c->dept = WT_NONE;
		if (rc->dept) {
			size_t s = ptr_memo_slot(rc->dept);
			if (dept->p[s] != rc->dept) {
				uint32_t dn = (uint32_t)t->dept_ids.n;
				dept->v[s] = idmap_intern(&t->dept_ids, rc->dept, &dn);
				dept->p[s] = rc->dept;
			}
			c->dept = dept->v[s];
		}
		c->assigned = WT_NONE;
		if (rc->assigned_to) {
			size_t s = ptr_memo_slot(rc->assigned_to);
			if (staff->p[s] != rc->assigned_to) {
				staff->v[s] = idmap_get(&t->staff_ids, rc->assigned_to);
				staff->p[s] = rc->assigned_to;
			}
			c->assigned = staff->v[s];
		}
		if (c->res != WT_NONE)
			t->res_case_first[c->res + 1]++;
	}
	free(dept);
	free(staff);
}

uint32_t wt_case_find(const struct watch_tables *t, const char *id)
{
	uint32_t h = watch_str_hash(id);

	for (size_t i = 0; i < t->ncases; i++)
		if (t->cases[i].idh == h && strcmp(t->cases[i].id, id) == 0)
			return (uint32_t)i;
	return WT_NONE;
}

int watch_tables_build(const struct registry_data *reg, struct watch_tables **out)
{
	struct watch_tables *t = xcalloc(1, sizeof(*t));
	uint32_t next, hh_next = 0, addr_next = 0, group_next = 0;
	uint32_t *fill = NULL;
	size_t n;
	int r;

	*out = NULL;
	t->reg = reg;
	if (reg->nstaff >= WT_NONE / 2 || reg->nresidents >= WT_NONE / 2 ||
	    reg->ncases >= WT_NONE / 2) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	t->nstaff = reg->nstaff;
	t->nres = reg->nresidents;
	t->ncases = reg->ncases;
	t->ndept = reg->ndepartments;
	if ((r = idmap_init(&t->staff_ids, t->nstaff)) < 0 ||
	    (r = idmap_init(&t->res_ids, t->nres)) < 0 ||
	    (r = idmap_init(&t->dept_ids, t->ndept + t->nstaff)) < 0 ||
	    (r = idmap_init(&t->hh_ids, t->nres + t->nstaff)) < 0 ||
	    (r = idmap_init(&t->addr_ids, t->nres + t->nstaff)) < 0 ||
	    (r = idmap_init(&t->group_ids, t->nstaff)) < 0)
		goto out;

	/* Departments: ids from the department file, and any id that staff
	 * or cases name (so that an unknown department still compares). */
	next = 0;
	for (size_t i = 0; i < reg->ndepartments; i++)
		(void)idmap_intern(&t->dept_ids, reg->departments[i].id, &next);

	t->res = xcalloc_huge(t->nres, sizeof(*t->res));
	next = 0;
	for (size_t i = 0; i < t->nres; i++) {
		const struct reg_resident *rr = &reg->residents[i];
		struct wt_res *x = &t->res[i];
		/* Three maps larger than the cache, each hit at random. */
		if (i + RES_AHEAD < t->nres) {
			const struct reg_resident *ra = &reg->residents[i + RES_AHEAD];
			idmap_prefetch(&t->res_ids, ra->id, strlen(ra->id));
			if (ra->household_id)
				idmap_prefetch(&t->hh_ids, ra->household_id, strlen(ra->household_id));
			if (ra->address_id)
				idmap_prefetch(&t->addr_ids, ra->address_id, strlen(ra->address_id));
		}
		(void)idmap_intern(&t->res_ids, rr->id, &next);
		x->r = rr;
		x->surname = rr->surname;
		x->surname_hash = rr->surname ? watch_str_hash(rr->surname) : 0;
		x->hh = rr->household_id ? idmap_intern(&t->hh_ids, rr->household_id, &hh_next) :
					   WT_NONE;
		x->addr = rr->address_id ? idmap_intern(&t->addr_ids, rr->address_id, &addr_next) :
					   WT_NONE;
		if (strlist_has(&rr->flags, "dv_support"))
			x->flags |= WT_RF_DV;
		if (strlist_has(&rr->flags, "vip"))
			x->flags |= WT_RF_VIP;
		if (strlist_has(&rr->flags, "staff"))
			x->flags |= WT_RF_STAFF;
	}

	t->staff = xcalloc(t->nstaff ? t->nstaff : 1, sizeof(*t->staff));
	t->group_keys = xcalloc(t->nstaff ? t->nstaff : 1, sizeof(*t->group_keys));
	next = 0;
	for (size_t i = 0; i < t->nstaff; i++) {
		const struct reg_staff *rs = &reg->staff[i];
		struct wt_staff *x = &t->staff[i];
		uint32_t dn = (uint32_t)t->dept_ids.n;
		(void)idmap_intern(&t->staff_ids, rs->id, &next);
		x->r = rs;
		x->dept = rs->dept ? idmap_intern(&t->dept_ids, rs->dept, &dn) : WT_NONE;
		x->hh = rs->household_id ? idmap_intern(&t->hh_ids, rs->household_id, &hh_next) :
					   WT_NONE;
		x->addr = rs->address_id ? idmap_intern(&t->addr_ids, rs->address_id, &addr_next) :
					   WT_NONE;
		t->group_keys[i] = group_key(rs);
		x->group = idmap_intern(&t->group_ids, t->group_keys[i], &group_next);
	}
	t->nhh = hh_next;
	t->ngroups = group_next;

	/* Cases, grouped per resident (counting sort keeps the registry's
	 * order, which is by opening time within a resident). */
	t->cases = xcalloc(t->ncases ? t->ncases : 1, sizeof(*t->cases));
	t->res_case_first = xcalloc(t->nres + 1, sizeof(uint32_t));
	cases_build(t, reg);
	for (size_t i = 0; i < t->nres; i++)
		t->res_case_first[i + 1] += t->res_case_first[i];
	t->res_cases = xcalloc(t->ncases ? t->ncases : 1, sizeof(uint32_t));
	fill = xcalloc(t->nres ? t->nres : 1, sizeof(uint32_t));
	for (size_t i = 0; i < t->ncases; i++) {
		uint32_t rx = t->cases[i].res;
		if (rx == WT_NONE)
			continue;
		t->res_cases[t->res_case_first[rx] + fill[rx]++] = (uint32_t)i;
	}
	free(fill);
	fill = NULL;
	/* The same grouping copied, for the explanation's scans. */
	t->rcases = xcalloc_huge(t->ncases, sizeof(*t->rcases));
	for (size_t i = 0; i < t->nres; i++) {
		struct wt_res *x = &t->res[i];
		x->cfirst = t->res_case_first[i];
		x->cn = t->res_case_first[i + 1] - t->res_case_first[i];
		for (uint32_t k = x->cfirst; k < x->cfirst + x->cn; k++) {
			const struct wt_case *c = &t->cases[t->res_cases[k]];
			t->rcases[k] = (struct wt_rcase){ c->opened, c->closed, c->dept, c->assigned,
							  c->id,     c->idh };
		}
	}

	/* Household members. */
	t->hh_first = xcalloc(t->nhh + 1, sizeof(uint32_t));
	for (size_t i = 0; i < t->nres; i++)
		if (t->res[i].hh != WT_NONE)
			t->hh_first[t->res[i].hh + 1]++;
	for (size_t i = 0; i < t->nhh; i++)
		t->hh_first[i + 1] += t->hh_first[i];
	t->hh_members = xcalloc(t->nres ? t->nres : 1, sizeof(uint32_t));
	fill = xcalloc(t->nhh ? t->nhh : 1, sizeof(uint32_t));
	for (size_t i = 0; i < t->nres; i++) {
		uint32_t h = t->res[i].hh;
		if (h != WT_NONE)
			t->hh_members[t->hh_first[h] + fill[h]++] = (uint32_t)i;
	}
	free(fill);
	fill = NULL;

	/* Overtime per staff. */
	n = reg->novertime;
	t->ot_first = xcalloc(t->nstaff + 1, sizeof(uint32_t));
	t->ot = xcalloc(n ? n : 1, sizeof(*t->ot));
	for (size_t i = 0; i < n; i++) {
		uint32_t s = idmap_get(&t->staff_ids, reg->overtime[i].staff_id);
		if (s != WT_NONE)
			t->ot_first[s + 1]++;
	}
	for (size_t i = 0; i < t->nstaff; i++)
		t->ot_first[i + 1] += t->ot_first[i];
	fill = xcalloc(t->nstaff ? t->nstaff : 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		uint32_t s = idmap_get(&t->staff_ids, reg->overtime[i].staff_id);
		if (s == WT_NONE)
			continue;
		struct wt_span *sp = &t->ot[t->ot_first[s] + fill[s]++];
		sp->start = reg->overtime[i].start;
		sp->end = reg->overtime[i].end;
	}
	free(fill);
	fill = NULL;
	*out = t;
	t = NULL;
	r = 0;
out:
	free(fill);
	watch_tables_free(t);
	return r;
}

void watch_tables_free(struct watch_tables *t)
{
	if (!t)
		return;
	idmap_release(&t->staff_ids);
	idmap_release(&t->res_ids);
	idmap_release(&t->dept_ids);
	idmap_release(&t->hh_ids);
	idmap_release(&t->addr_ids);
	idmap_release(&t->group_ids);
	if (t->group_keys)
		for (size_t i = 0; i < t->nstaff; i++)
			free(t->group_keys[i]);
	free(t->group_keys);
	free(t->staff);
	free(t->res);
	free(t->cases);
	free(t->res_case_first);
	free(t->res_cases);
	free(t->rcases);
	free(t->hh_first);
	free(t->hh_members);
	free(t->ot_first);
	free(t->ot);
	free(t);
}

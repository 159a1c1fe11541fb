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

#include <string.h>

static uint64_t str_hash(const char *s)
{
	/* FNV-1a: ids are short ASCII strings, this spreads them well. */
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int idmap_init(struct idmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2 + 1) {
		if (cap > SIZE_MAX / 4)
			return ERR_OVERFLOW;
		cap *= 2;
	}
	m->key = xcalloc(cap, sizeof(*m->key));
	m->val = xcalloc(cap, sizeof(*m->val));
	m->cap = cap;
	m->n = 0;
	return 0;
}

void idmap_release(struct idmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

uint32_t idmap_get(const struct idmap *m, const char *key)
{
	if (!key || !m->cap)
		return WT_NONE;
	size_t mask = m->cap - 1, i = (size_t)str_hash(key) & mask;
	while (m->key[i]) {
		if (strcmp(m->key[i], key) == 0)
			return m->val[i];
		i = (i + 1) & mask;
	}
	return WT_NONE;
}

/* Insert key if absent with value *next (then ++*next); the key's value
 * either way. The map must have been sized for every key. */
uint32_t idmap_intern(struct idmap *m, const char *key, uint32_t *next)
{
	size_t mask = m->cap - 1, i = (size_t)str_hash(key) & mask;
	while (m->key[i]) {
		if (strcmp(m->key[i], key) == 0)
			return m->val[i];
		i = (i + 1) & mask;
	}
	BUG_ON(m->n + 1 >= m->cap);
	m->key[i] = key;
	m->val[i] = (*next)++;
	m->n++;
	return m->val[i];
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
	    (r = idmap_init(&t->case_ids, t->ncases)) < 0 ||
	    (r = idmap_init(&t->dept_ids, t->ndept + t->nstaff + t->ncases)) < 0 ||
	    (r = idmap_init(&t->hh_ids, t->nres + t->nstaff)) < 0 ||
	    (r = idmap_init(&t->addr_ids, t->nres + t->nstaff)) < 0 ||
	    (r = idmap_init(&t->group_ids, t->nstaff)) < 0)
		goto out;

	/* Departments: ids from the department file, and any id that staff
	 * or cases name (so that an unknown department still compares). */
	next = 0;
	for (size_t i = 0; i < reg->ndepartments; i++)
		(void)idmap_intern(&t->dept_ids, reg->departments[i].id, &next);

	t->res = xcalloc(t->nres ? t->nres : 1, sizeof(*t->res));
	next = 0;
	for (size_t i = 0; i < t->nres; i++) {
		const struct reg_resident *rr = &reg->residents[i];
		struct wt_res *x = &t->res[i];
		(void)idmap_intern(&t->res_ids, rr->id, &next);
		x->r = rr;
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
	next = 0;
	for (size_t i = 0; i < t->ncases; i++) {
		const struct reg_case *rc = &reg->cases[i];
		struct wt_case *c = &t->cases[i];
		uint32_t dn = (uint32_t)t->dept_ids.n;
		(void)idmap_intern(&t->case_ids, rc->id, &next);
		c->id = rc->id;
		c->opened = rc->opened;
		c->closed = rc->closed == TS_NONE ? INT64_MAX : rc->closed;
		c->res = idmap_get(&t->res_ids, rc->resident_id);
		c->dept = rc->dept ? idmap_intern(&t->dept_ids, rc->dept, &dn) : WT_NONE;
		c->assigned = idmap_get(&t->staff_ids, rc->assigned_to);
		if (c->res != WT_NONE)
			t->res_case_first[c->res + 1]++;
	}
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
	idmap_release(&t->case_ids);
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
	free(t->hh_first);
	free(t->hh_members);
	free(t->ot_first);
	free(t->ot);
	free(t);
}

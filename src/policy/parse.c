/*
 * parse.c - the policy file (YAML, docs/policy.md) into a checked model.
 *
 * libyaml loads the text into a node graph; a walker then checks every
 * node against the schema and reports each problem with its line and
 * column, going on to find the rest. Unknown keys, duplicate keys, wrong
 * types, unknown references and out-of-range numbers are all errors: a
 * policy that misspells a key must not silently mean something else.
 * Aliases (*x) are refused, which also rules out alias bombs.
 */
#include "base/base.h"

#include <yaml.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "instance/instance_int.h"
#include "policy/policy_int.h"

#define POLICY_FILE_MAX ((size_t)4 << 20)

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct diag *d;
	struct policy *p;
	uint8_t *seen; /* per node id: visited once already */
	size_t nnodes;
	int err;
};

static const char *const check_names[CHK__COUNT] = {
	"known_staff",	    "known_system",	"known_resident", "employment_period",
	"training_recent",  "pledge_signed",	"zone_match",	  "mfa_required",
	"department_system", "action_roles",	"flagged_resident", "need_to_know",
};

const char *pol_check_name(enum pol_check c)
{
	return (unsigned)c < CHK__COUNT ? check_names[c] : NULL;
}

const char *pol_effect_name(enum pol_effect e)
{
	switch (e) {
	case PEFF_DENY: return "deny";
	case PEFF_WARN: return "warn";
	case PEFF_BY_SYSTEM: return "by_system";
	}
	return NULL;
}

int pol_zone_index(const struct policy *p, const char *id)
{
	for (unsigned i = 0; i < p->nzones; i++)
		if (!strcmp(p->zones[i].id, id))
			return (int)i;
	return -1;
}

int pol_system_zone(const struct policy *p, const char *system)
{
	for (unsigned z = 0; z < p->nzones; z++)
		for (unsigned k = 0; k < p->zones[z].nsystems; k++)
			if (!strcmp(p->zones[z].systems[k], system))
				return (int)z;
	return -1;
}

int pol_role_index(const struct policy *p, const char *id)
{
	for (unsigned i = 0; i < p->nroles; i++)
		if (!strcmp(p->roles[i].id, id))
			return (int)i;
	return -1;
}

static int obligation_index(const struct policy *p, const char *id)
{
	for (unsigned i = 0; i < p->nobligations; i++)
		if (!strcmp(p->obligations[i], id))
			return (int)i;
	return -1;
}

/* ---- diagnostics at a node ---- */

static void perr(struct pctx *c, const yaml_node_t *n, const char *field, const char *fmt, ...)
	MM_PRINTF(4, 5);

static void perr(struct pctx *c, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
	va_list ap;
	long line = n ? (long)n->start_mark.line + 1 : 0;
	long col = n ? (long)n->start_mark.column + 1 : 0;

	va_start(ap, fmt);
	diag_verror(c->d, false, c->file, line, col, field, fmt, ap);
	va_end(ap);
	c->err = ERR_POLICY;
}

/*
 * Get node id for walking; refuse a node reached twice (an alias).
 * Returns NULL (with an error) for an alias.
 */
static yaml_node_t *node_get(struct pctx *c, int id, const yaml_node_t *from, const char *field)
{
	yaml_node_t *n = yaml_document_get_node(c->doc, id);
	if (!n)
		return NULL;
	if (c->seen[id]) {
		perr(c, from, field, "%s",
		     T("エイリアス（*参照）は使えません", "aliases (*references) are not allowed"));
		return NULL;
	}
	c->seen[id] = 1;
	return n;
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return T("スカラー", "a scalar");
	case YAML_SEQUENCE_NODE: return T("リスト", "a list");
	case YAML_MAPPING_NODE: return T("マップ", "a mapping");
	default: return "?";
	}
}

static bool expect(struct pctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *field)
{
	if (n->type == t)
		return true;
	perr(c, n, field, T("%s が必要ですが %s です", "expected %s, found %s"),
	     t == YAML_SCALAR_NODE	 ? T("スカラー", "a scalar")
	     : t == YAML_SEQUENCE_NODE ? T("リスト", "a list")
				       : T("マップ", "a mapping"),
	     node_type_name(n));
	return false;
}

/* A scalar's text copied into the policy's arena; NULL (with an error)
 * if it is not a scalar, is empty, too long or holds a NUL. */
static const char *scalar(struct pctx *c, const yaml_node_t *n, const char *field, size_t max)
{
	const char *s;
	size_t len;
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return NULL;
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (len == 0) {
		perr(c, n, field, "%s", T("空です", "is empty"));
		return NULL;
	}
	if (len > max) {
		perr(c, n, field, T("長すぎます（最大 %zu バイト）", "too long (at most %zu bytes)"),
		     max);
		return NULL;
	}
	if (memchr(s, '\0', len)) {
		perr(c, n, field, "%s", T("NUL 文字を含みます", "contains a NUL character"));
		return NULL;
	}
	return arena_strndup(c->p->arena, s, len);
}

static bool id_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static const char *ident(struct pctx *c, const yaml_node_t *n, const char *field)
{
	const char *s = scalar(c, n, field, POL_ID_MAX);
	if (s && !id_ok(s)) {
		perr(c, n, field, T("'%s' は ID に使えない文字を含みます（英数字と _ - . のみ）",
				    "'%s' is not a valid id (letters, digits, _ - . only)"),
		     s);
		return NULL;
	}
	return s;
}

/* A stable code: lower-case letters, digits and _, starting with a letter. */
static const char *code_ident(struct pctx *c, const yaml_node_t *n, const char *field)
{
	const char *s = scalar(c, n, field, 48);
	if (!s)
		return NULL;
	bool ok = *s >= 'a' && *s <= 'z';
	for (const char *q = s; ok && *q; q++)
		ok = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_';
	if (!ok) {
		perr(c, n, field, T("'%s' はコードに使えません（英小文字で始まり英小文字・数字・_ のみ）",
				    "'%s' is not a valid code (a-z first, then a-z 0-9 _)"),
		     s);
		return NULL;
	}
	return s;
}

static bool boolean(struct pctx *c, const yaml_node_t *n, const char *field, bool *out)
{
	const char *s;
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return false;
	s = (const char *)n->data.scalar.value;
	if (!strcmp(s, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false")) {
		*out = false;
		return true;
	}
	perr(c, n, field, "%s", T("true か false を指定してください", "must be true or false"));
	return false;
}

static bool integer(struct pctx *c, const yaml_node_t *n, const char *field, int64_t min,
		    int64_t max, int64_t *out)
{
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return false;
	if (parse_i64((const char *)n->data.scalar.value, n->data.scalar.length, min, max, out) <
	    0) {
		perr(c, n, field, T("%lld 以上 %lld 以下の整数を指定してください",
				    "must be a whole number from %lld to %lld"),
		     (long long)min, (long long)max);
		return false;
	}
	return true;
}

/*
 * Iterate a mapping: calls fn for each key, refusing duplicate keys and
 * non-scalar keys. fn returns false for an unknown key (reported here).
 */
typedef bool (*key_fn)(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       void *arg);

static void mapping_walk(struct pctx *c, const yaml_node_t *m, const char *field, key_fn fn,
			 void *arg)
{
	if (!expect(c, m, YAML_MAPPING_NODE, field))
		return;
	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = node_get(c, pr->key, m, field);
		yaml_node_t *vn;
		if (!kn)
			continue;
		if (kn->type != YAML_SCALAR_NODE) {
			perr(c, kn, field, "%s", T("キーはスカラーでなければなりません",
						   "a key must be a scalar"));
			continue;
		}
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < pr; q++) {
			yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    k2->data.scalar.length == kn->data.scalar.length &&
			    !memcmp(k2->data.scalar.value, kn->data.scalar.value,
				    kn->data.scalar.length)) {
				perr(c, kn, (const char *)kn->data.scalar.value, "%s",
				     T("キーが重複しています", "duplicate key"));
				break;
			}
		}
		vn = node_get(c, pr->value, kn, (const char *)kn->data.scalar.value);
		if (!vn)
			continue;
		if (!fn(c, (const char *)kn->data.scalar.value, kn, vn, arg))
			perr(c, kn, (const char *)kn->data.scalar.value, "%s",
			     T("不明なキーです", "unknown key"));
	}
}

/* Iterate a sequence's items. */
typedef void (*item_fn)(struct pctx *c, yaml_node_t *item, unsigned i, void *arg);

static unsigned seq_walk(struct pctx *c, const yaml_node_t *s, const char *field, unsigned max,
			 item_fn fn, void *arg)
{
	unsigned i = 0;
	if (!expect(c, s, YAML_SEQUENCE_NODE, field))
		return 0;
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *n;
		if (i >= max) {
			perr(c, s, field, T("項目が多すぎます（最大 %u）", "too many items (at most %u)"),
			     max);
			break;
		}
		n = node_get(c, *it, s, field);
		if (!n)
			continue;
		fn(c, n, i++, arg);
	}
	return i;
}

/* ---- classification, zones, roles ---- */

struct named_arg {
	struct pol_named *v;
	unsigned *n;
	const char *field;
	const yaml_node_t *node;
	const char *id, *name;
};

static bool named_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		      void *arg)
{
	struct named_arg *na = arg;
	(void)kn;
	if (!strcmp(key, "id"))
		na->id = ident(c, vn, "id");
	else if (!strcmp(key, "name"))
		na->name = scalar(c, vn, "name", 256);
	else
		return false;
	return true;
}

static void named_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct named_arg *na = arg;
	(void)i;
	na->id = na->name = NULL;
	mapping_walk(c, item, na->field, named_key, na);
	if (item->type != YAML_MAPPING_NODE)
		return;
	if (!na->id) {
		perr(c, item, "id", "%s", T("必須です", "required"));
		return;
	}
	for (unsigned k = 0; k < *na->n; k++)
		if (!strcmp(na->v[k].id, na->id)) {
			perr(c, item, "id", T("'%s' が重複しています", "'%s' is defined twice"),
			     na->id);
			return;
		}
	na->v[*na->n].id = na->id;
	na->v[*na->n].name = na->name ? na->name : na->id;
	(*na->n)++;
}

static void named_list(struct pctx *c, yaml_node_t *n, const char *field, struct pol_named *v,
		       unsigned *count, unsigned max)
{
	struct named_arg na = {v, count, field, n, NULL, NULL};
	seq_walk(c, n, field, max, named_item, &na);
}

static bool class_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		      void *arg)
{
	struct policy *p = arg;
	(void)kn;
	if (!strcmp(key, "confidentiality"))
		named_list(c, vn, key, p->conf, &p->nconf, POL_MAX_CLASS);
	else if (!strcmp(key, "integrity"))
		named_list(c, vn, key, p->integ, &p->ninteg, POL_MAX_CLASS);
	else if (!strcmp(key, "availability"))
		named_list(c, vn, key, p->avail, &p->navail, POL_MAX_CLASS);
	else
		return false;
	return true;
}

struct zone_arg {
	struct pol_zone z;
	bool has_id;
};

static void zone_system_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct zone_arg *za = arg;
	const char *s = ident(c, item, "systems");
	(void)i;
	if (!s)
		return;
	if (pol_system_zone(c->p, s) >= 0) {
		perr(c, item, "systems", T("システム '%s' は既に別の領域に置かれています",
					   "system '%s' is already placed in another zone"),
		     s);
		return;
	}
	for (unsigned k = 0; k < za->z.nsystems; k++)
		if (!strcmp(za->z.systems[k], s)) {
			perr(c, item, "systems", T("'%s' が重複しています", "'%s' is listed twice"), s);
			return;
		}
	za->z.systems[za->z.nsystems++] = s;
}

static bool zone_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		     void *arg)
{
	struct zone_arg *za = arg;
	(void)kn;
	if (!strcmp(key, "id")) {
		za->z.id = ident(c, vn, "id");
	} else if (!strcmp(key, "name")) {
		za->z.name = scalar(c, vn, "name", 256);
	} else if (!strcmp(key, "systems")) {
		za->z.systems = arena_zalloc(c->p->arena, POL_MAX_ZONE_SYSTEMS * sizeof(char *));
		za->z.nsystems = 0;
		seq_walk(c, vn, "systems", POL_MAX_ZONE_SYSTEMS, zone_system_item, za);
	} else if (!strcmp(key, "mfa")) {
		const char *s = scalar(c, vn, "mfa", 16);
		if (s && !strcmp(s, "required"))
			za->z.mfa = true;
		else if (s && !strcmp(s, "optional"))
			za->z.mfa = false;
		else if (s)
			perr(c, vn, "mfa", "%s",
			     T("required か optional を指定してください",
			       "must be required or optional"));
	} else {
		return false;
	}
	return true;
}

static void zone_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct policy *p = arg;
	struct zone_arg za;
	memset(&za, 0, sizeof(za));
	(void)i;
	mapping_walk(c, item, "zones", zone_key, &za);
	if (item->type != YAML_MAPPING_NODE)
		return;
	if (!za.z.id) {
		perr(c, item, "id", "%s", T("必須です", "required"));
		return;
	}
	if (pol_zone_index(p, za.z.id) >= 0) {
		perr(c, item, "id", T("'%s' が重複しています", "'%s' is defined twice"), za.z.id);
		return;
	}
	if (!za.z.name)
		za.z.name = za.z.id;
	p->zones[p->nzones++] = za.z;
}

/* ---- id lists resolved to bit sets ---- */

enum setkind { SET_ROLE, SET_ZONE, SET_OBLIGATION, SET_ACTION };

struct set_arg {
	enum setkind kind;
	const char *field;
	uint64_t bits;
};

static void set_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct set_arg *sa = arg;
	const char *s = ident(c, item, sa->field);
	int idx = -1;
	enum action a;
	(void)i;
	if (!s)
		return;
	switch (sa->kind) {
	case SET_ROLE:
		idx = pol_role_index(c->p, s);
		if (idx < 0)
			perr(c, item, sa->field,
			     T("役割 '%s' は roles で定義されていません",
			       "role '%s' is not defined under roles"),
			     s);
		break;
	case SET_ZONE:
		idx = pol_zone_index(c->p, s);
		if (idx < 0)
			perr(c, item, sa->field,
			     T("ゾーン '%s' は zones で定義されていません",
			       "zone '%s' is not defined under zones"),
			     s);
		break;
	case SET_OBLIGATION:
		idx = obligation_index(c->p, s);
		if (idx < 0)
			perr(c, item, sa->field,
			     T("義務 '%s' は obligations で定義されていません",
			       "obligation '%s' is not defined under obligations"),
			     s);
		break;
	case SET_ACTION:
		if (action_parse(s, strlen(s), &a) < 0)
			perr(c, item, sa->field,
			     T("不明な操作 '%s'（search, view, update, print, export）",
			       "unknown action '%s' (search, view, update, print, export)"),
			     s);
		else
			idx = (int)a;
		break;
	}
	if (idx >= 0)
		sa->bits |= (uint64_t)1 << idx;
}

static uint64_t id_set(struct pctx *c, yaml_node_t *n, const char *field, enum setkind kind)
{
	struct set_arg sa = {kind, field, 0};
	seq_walk(c, n, field, POL_MAX_SET, set_item, &sa);
	return sa.bits;
}

/* ---- actions ---- */

struct action_arg {
	enum action a;
};

static bool zone_roles_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			   void *arg)
{
	struct action_arg *aa = arg;
	int z = pol_zone_index(c->p, key);
	if (z < 0) {
		perr(c, kn, "zone_roles",
		     T("ゾーン '%s' は zones で定義されていません",
		       "zone '%s' is not defined under zones"),
		     key);
		return true;
	}
	c->p->actions[aa->a].zone_roles[z] = id_set(c, vn, "zone_roles", SET_ROLE);
	return true;
}

static bool action_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       void *arg)
{
	struct action_arg *aa = arg;
	(void)kn;
	if (!strcmp(key, "roles"))
		c->p->actions[aa->a].roles = id_set(c, vn, "roles", SET_ROLE);
	else if (!strcmp(key, "zone_roles"))
		mapping_walk(c, vn, "zone_roles", zone_roles_key, aa);
	else
		return false;
	return true;
}

static bool actions_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			void *arg)
{
	struct action_arg aa;
	bool *seen = arg;
	if (action_parse(key, strlen(key), &aa.a) < 0) {
		perr(c, kn, key, "%s",
		     T("不明な操作です（search, view, update, print, export）",
		       "unknown action (search, view, update, print, export)"));
		return true;
	}
	seen[aa.a] = true;
	mapping_walk(c, vn, key, action_key, &aa);
	return true;
}

/* ---- systems ---- */

static int ntk_mode(struct pctx *c, yaml_node_t *n, const char *field, enum need_to_know *out)
{
	const char *s = scalar(c, n, field, 16);
	if (!s)
		return -1;
	if (!strcmp(s, "monitor"))
		*out = NTK_MONITOR;
	else if (!strcmp(s, "enforce"))
		*out = NTK_ENFORCE;
	else {
		perr(c, n, field, "%s",
		     T("monitor か enforce を指定してください", "must be monitor or enforce"));
		return -1;
	}
	return 0;
}

/* Validate one per-system override; parse_systems stores them. */
static bool ntk_over_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			 void *arg)
{
	enum need_to_know m;
	(void)arg;
	if (!id_ok(key) || strlen(key) > POL_ID_MAX) {
		perr(c, kn, "need_to_know", T("'%s' はシステム ID に使えません",
					      "'%s' is not a valid system id"),
		     key);
		return true;
	}
	(void)ntk_mode(c, vn, key, &m);
	return true;
}

static bool systems_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			void *arg)
{
	(void)kn;
	(void)arg;
	if (!strcmp(key, "need_to_know_default")) {
		(void)ntk_mode(c, vn, key, &c->p->ntk_default);
	} else if (!strcmp(key, "need_to_know")) {
		mapping_walk(c, vn, key, ntk_over_key, NULL);
	} else {
		return false;
	}
	return true;
}

static void obligation_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct policy *p = arg;
	const char *s = code_ident(c, item, "obligations");
	(void)i;
	if (!s)
		return;
	if (obligation_index(p, s) >= 0) {
		perr(c, item, "obligations", T("'%s' が重複しています", "'%s' is defined twice"), s);
		return;
	}
	p->obligations[p->nobligations++] = s;
}

/* ---- rules ---- */

struct rule_arg {
	struct pol_rule r;
	const yaml_node_t *node;
	bool has_check, has_effect, has_max_age, has_zones, has_flag;
	/* parameter nodes seen, to say which do not belong to the check */
	const yaml_node_t *param[8];
	const char *param_name[8];
	unsigned nparam;
};

static bool message_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			void *arg)
{
	struct pol_rule *r = arg;
	(void)kn;
	if (!strcmp(key, "ja"))
		r->msg_ja = scalar(c, vn, "message.ja", 512);
	else if (!strcmp(key, "en"))
		r->msg_en = scalar(c, vn, "message.en", 512);
	else
		return false;
	return true;
}

static void note_param(struct rule_arg *ra, const char *name, const yaml_node_t *n)
{
	if (ra->nparam < ARRAY_SIZE(ra->param)) {
		ra->param[ra->nparam] = n;
		ra->param_name[ra->nparam] = name;
		ra->nparam++;
	}
}

static bool rule_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *arg)
{
	struct rule_arg *ra = arg;
	struct pol_rule *r = &ra->r;
	int64_t v;
	(void)kn;
	if (!strcmp(key, "code")) {
		r->code = code_ident(c, vn, key);
	} else if (!strcmp(key, "check")) {
		const char *s = scalar(c, vn, key, 32);
		if (!s)
			return true;
		for (unsigned i = 0; i < CHK__COUNT; i++)
			if (!strcmp(s, check_names[i])) {
				r->check = (enum pol_check)i;
				ra->has_check = true;
			}
		if (!ra->has_check)
			perr(c, vn, key, T("不明な検査 '%s'（docs/policy.md を参照）",
					   "unknown check '%s' (see docs/policy.md)"),
			     s);
	} else if (!strcmp(key, "effect")) {
		const char *s = scalar(c, vn, key, 16);
		ra->has_effect = true;
		if (!s)
			return true;
		if (!strcmp(s, "deny"))
			r->effect = PEFF_DENY;
		else if (!strcmp(s, "warn"))
			r->effect = PEFF_WARN;
		else if (!strcmp(s, "by_system"))
			r->effect = PEFF_BY_SYSTEM;
		else
			perr(c, vn, key, "%s",
			     T("deny, warn, by_system のいずれかを指定してください",
			       "must be deny, warn or by_system"));
	} else if (!strcmp(key, "on_deny")) {
		r->on_deny = id_set(c, vn, key, SET_OBLIGATION);
	} else if (!strcmp(key, "on_warn")) {
		r->on_warn = id_set(c, vn, key, SET_OBLIGATION);
	} else if (!strcmp(key, "on_record")) {
		note_param(ra, key, vn);
		r->on_record = id_set(c, vn, key, SET_OBLIGATION);
	} else if (!strcmp(key, "message")) {
		mapping_walk(c, vn, key, message_key, r);
	} else if (!strcmp(key, "max_age_days")) {
		note_param(ra, key, vn);
		ra->has_max_age = true;
		if (integer(c, vn, key, 0, 36500, &v))
			r->max_age_days = (int32_t)v;
	} else if (!strcmp(key, "zones")) {
		note_param(ra, key, vn);
		r->zones = id_set(c, vn, key, SET_ZONE);
		ra->has_zones = true;
	} else if (!strcmp(key, "flag")) {
		note_param(ra, key, vn);
		r->flag = ident(c, vn, key);
		ra->has_flag = true;
	} else if (!strcmp(key, "role")) {
		note_param(ra, key, vn);
		const char *s = ident(c, vn, key);
		if (s) {
			r->role = pol_role_index(c->p, s);
			if (r->role < 0)
				perr(c, vn, key,
				     T("役割 '%s' は roles で定義されていません",
				       "role '%s' is not defined under roles"),
				     s);
		}
	} else if (!strcmp(key, "assigned_case")) {
		note_param(ra, key, vn);
		(void)boolean(c, vn, key, &r->assigned_case);
	} else if (!strcmp(key, "grace_days")) {
		note_param(ra, key, vn);
		if (integer(c, vn, key, 0, 3650, &v))
			r->grace_days = (int32_t)v;
	} else if (!strcmp(key, "actions")) {
		note_param(ra, key, vn);
		r->actions = (uint32_t)id_set(c, vn, key, SET_ACTION);
	} else if (!strcmp(key, "scope")) {
		note_param(ra, key, vn);
		const char *s = scalar(c, vn, key, 16);
		if (s && !strcmp(s, "department"))
			r->scope = SCOPE_DEPARTMENT;
		else if (s && !strcmp(s, "assigned"))
			r->scope = SCOPE_ASSIGNED;
		else if (s)
			perr(c, vn, key, "%s",
			     T("department か assigned を指定してください",
			       "must be department or assigned"));
	} else {
		return false;
	}
	return true;
}

/* Which parameters each check takes. */
static bool param_allowed(enum pol_check ck, const char *name)
{
	switch (ck) {
	case CHK_TRAINING_RECENT: return !strcmp(name, "max_age_days");
	case CHK_MFA_REQUIRED: return !strcmp(name, "zones");
	case CHK_FLAGGED_RESIDENT:
		return !strcmp(name, "flag") || !strcmp(name, "role") ||
		       !strcmp(name, "assigned_case") || !strcmp(name, "grace_days") ||
		       !strcmp(name, "on_record");
	case CHK_NEED_TO_KNOW:
		return !strcmp(name, "actions") || !strcmp(name, "scope") ||
		       !strcmp(name, "grace_days");
	default: return false;
	}
}

static void rule_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct policy *p = arg;
	struct rule_arg ra;
	(void)i;
	memset(&ra, 0, sizeof(ra));
	ra.r.role = -1;
	ra.r.actions = (1u << ACT_VIEW) | (1u << ACT_UPDATE) | (1u << ACT_PRINT) | (1u << ACT_EXPORT);
	ra.r.line = (long)item->start_mark.line + 1;
	ra.node = item;
	mapping_walk(c, item, "rules", rule_key, &ra);
	if (item->type != YAML_MAPPING_NODE)
		return;
	if (!ra.r.code)
		perr(c, item, "code", "%s", T("必須です", "required"));
	if (!ra.has_check) {
		perr(c, item, "check", "%s", T("必須です", "required"));
		return;
	}
	if (!ra.has_effect)
		perr(c, item, "effect", "%s", T("必須です", "required"));
	for (unsigned k = 0; k < ra.nparam; k++)
		if (!param_allowed(ra.r.check, ra.param_name[k]))
			perr(c, ra.param[k], ra.param_name[k],
			     T("検査 %s はこのパラメータをとりません",
			       "check %s takes no such parameter"),
			     check_names[ra.r.check]);
	if (ra.r.check == CHK_TRAINING_RECENT && !ra.has_max_age)
		perr(c, item, "max_age_days", "%s", T("必須です", "required"));
	if (ra.r.check == CHK_MFA_REQUIRED && !ra.has_zones)
		perr(c, item, "zones", "%s", T("必須です", "required"));
	if (ra.r.check == CHK_FLAGGED_RESIDENT && !ra.has_flag)
		perr(c, item, "flag", "%s", T("必須です", "required"));
	if (ra.r.effect == PEFF_BY_SYSTEM && ra.r.check != CHK_NEED_TO_KNOW)
		perr(c, item, "effect", "%s",
		     T("by_system は need_to_know 検査にのみ使えます",
		       "by_system applies to the need_to_know check only"));
	if (!!ra.r.msg_ja != !!ra.r.msg_en)
		perr(c, item, "message", "%s",
		     T("ja と en の両方が必要です", "needs both ja and en"));
	if (!ra.r.code)
		return;
	for (unsigned k = 0; k < p->nrules; k++)
		if (!strcmp(p->rules[k].code, ra.r.code)) {
			perr(c, item, "code", T("'%s' が重複しています", "'%s' is defined twice"),
			     ra.r.code);
			return;
		}
	p->rules[p->nrules++] = ra.r;
}

/*
 * A request naming a person, system or resident that the registry does not
 * hold can be checked against nothing else, so the other rules skip it:
 * the three known_* rules must be there and must deny, or an unknown id
 * would be allowed.
 */
static void check_known_rules(struct pctx *c, const yaml_node_t *rules)
{
	static const enum pol_check need[] = {CHK_KNOWN_STAFF, CHK_KNOWN_SYSTEM, CHK_KNOWN_RESIDENT};
	for (unsigned i = 0; i < ARRAY_SIZE(need); i++) {
		const struct pol_rule *found = NULL;
		for (unsigned k = 0; k < c->p->nrules; k++)
			if (c->p->rules[k].check == need[i])
				found = &c->p->rules[k];
		if (!found)
			perr(c, rules, "rules",
			     T("検査 %s の規則が必要です（effect: deny）",
			       "a rule with check %s is required (effect: deny)"),
			     check_names[need[i]]);
		else if (found->effect != PEFF_DENY)
			perr(c, rules, "rules",
			     T("検査 %s の規則は effect: deny でなければなりません（%ld 行目）",
			       "the rule with check %s must have effect: deny (line %ld)"),
			     check_names[need[i]], found->line);
	}
}

/* ---- watch: the thresholds of the watch rules ---- */

/*
 * A duration: a whole number and a unit, "90s", "30min", "1h", "7d", from
 * min to max seconds. A bare number is refused: "30" could mean seconds,
 * minutes or days, and a misread threshold silently changes what is
 * alerted.
 */
static bool duration(struct pctx *c, const yaml_node_t *n, const char *field, int64_t min,
		     int64_t max, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t secs;
	} units[] = {{"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}};
	const char *s;
	size_t len, digits = 0;
	int64_t v;
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return false;
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	for (size_t u = 0; digits > 0 && u < ARRAY_SIZE(units); u++) {
		if (len - digits != strlen(units[u].unit) ||
		    memcmp(s + digits, units[u].unit, len - digits) != 0)
			continue;
		if (parse_i64(s, digits, 0, max / units[u].secs, &v) < 0 ||
		    v * units[u].secs < min)
			break;
		*out = v * units[u].secs;
		return true;
	}
	perr(c, n, field,
	     T("%lld 秒から %lld 秒までの期間を、数と単位（s, min, h, d）で指定してください（例: 30min）",
	       "must be a duration from %lld to %lld seconds, a whole number and a unit "
	       "(s, min, h, d), e.g. 30min"),
	     (long long)min, (long long)max);
	return false;
}

/* A time of the JST day, "HH:MM" from 00:00 to 24:00, in seconds. */
static bool clock_time(struct pctx *c, const yaml_node_t *n, const char *field, int *out)
{
	const char *s;
	int64_t h, m;
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return false;
	s = (const char *)n->data.scalar.value;
	if (n->data.scalar.length == 5 && s[2] == ':' && parse_i64(s, 2, 0, 24, &h) == 0 &&
	    parse_i64(s + 3, 2, 0, 59, &m) == 0 && (h < 24 || m == 0) && s[0] >= '0' &&
	    s[0] <= '9' && s[3] >= '0' && s[3] <= '9') {
		*out = (int)(h * 3600 + m * 60);
		return true;
	}
	perr(c, n, field, "%s",
	     T("時刻を HH:MM（00:00 から 24:00）で指定してください",
	       "must be a time HH:MM from 00:00 to 24:00"));
	return false;
}

/* A factor: a decimal number with at most 3 digits after the point, from
 * 1 to 1000 ("4", "2.5"). Thousandths are exact, so the policy shown
 * reads back to the same value. */
static bool factor(struct pctx *c, const yaml_node_t *n, const char *field, double *out)
{
	const char *s;
	size_t len, i = 0, frac = 0;
	int64_t whole, milli = 0;
	if (!expect(c, n, YAML_SCALAR_NODE, field))
		return false;
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || parse_i64(s, i, 0, 1000, &whole) < 0)
		goto bad;
	if (i < len) {
		if (s[i] != '.' || len - i - 1 < 1 || len - i - 1 > 3)
			goto bad;
		for (size_t k = i + 1; k < len; k++) {
			if (s[k] < '0' || s[k] > '9')
				goto bad;
			milli = milli * 10 + (s[k] - '0');
			frac++;
		}
		for (; frac < 3; frac++)
			milli *= 10;
	}
	if (whole * 1000 + milli < 1000 || whole * 1000 + milli > 1000000)
		goto bad;
	*out = (double)(whole * 1000 + milli) / 1000.0;
	return true;
bad:
	perr(c, n, field, "%s",
	     T("1 から 1000 までの数（小数点以下 3 桁まで）を指定してください",
	       "must be a number from 1 to 1000, at most 3 digits after the point"));
	return false;
}

static bool count_u32(struct pctx *c, const yaml_node_t *n, const char *field, int64_t min,
		      int64_t max, uint32_t *out)
{
	int64_t v;
	if (!integer(c, n, field, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

#define DAY_SECS ((int64_t)86400)

/* ---- watch: explanations: declared explanation templates ---- */

static const char *const step_names[WSTEP__COUNT] = WATCH_STEP_NAMES;

struct tmpl_arg {
	struct watch_template *tp;
	const yaml_node_t *name, *label, *path;
	bool has_ja, has_en, name_seen, path_seen;
};

/* Copy a scalar into a fixed buffer of the template (the thresholds are
 * copied by value and outlive the policy's arena). */
static bool tmpl_text(struct pctx *c, const yaml_node_t *n, const char *field, char *out,
		      size_t cap)
{
	const char *s = scalar(c, n, field, cap - 1);
	if (!s)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

static bool tmpl_label_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			   void *arg)
{
	struct tmpl_arg *ta = arg;
	(void)kn;
	if (!strcmp(key, "ja"))
		ta->has_ja = tmpl_text(c, vn, "label.ja", ta->tp->label_ja, sizeof(ta->tp->label_ja));
	else if (!strcmp(key, "en"))
		ta->has_en = tmpl_text(c, vn, "label.en", ta->tp->label_en, sizeof(ta->tp->label_en));
	else
		return false;
	return true;
}

/* The steps that may follow step prev (WSTEP__COUNT: the first step). */
static bool step_may_follow(int prev, int step, unsigned pos)
{
	switch (prev) {
	case WSTEP__COUNT: return step == WSTEP_STAFF || step == WSTEP_STAFF_DEPT;
	case WSTEP_STAFF: return step == WSTEP_CASE_ASSIGNED;
	case WSTEP_STAFF_DEPT: return step == WSTEP_CASE_DEPT;
	case WSTEP_CASE_ASSIGNED:
	case WSTEP_CASE_DEPT: return pos == 2 && (step == WSTEP_CASE_RESIDENT || step == WSTEP_HOUSEHOLD);
	case WSTEP_HOUSEHOLD: return step == WSTEP_RESIDENT;
	default: return false;
	}
}

static int step_list(struct buf *b, int prev, unsigned pos)
{
	int r = 0;
	bool any = false;
	for (int k = 0; k < WSTEP__COUNT && r >= 0; k++) {
		if (prev != -1 && !step_may_follow(prev, k, pos))
			continue;
		r = buf_printf(b, "%s%s", any ? ", " : "", step_names[k]);
		any = true;
	}
	return r;
}

/*
 * A path "a -> b -> c": steps of the vocabulary (thresholds.h) separated
 * by "->". An error points at the step's column in a one-line scalar.
 */
static bool tmpl_path(struct pctx *c, const yaml_node_t *n, struct watch_template *tp)
{
	const char *s;
	size_t len, i = 0;
	int prev = WSTEP__COUNT;
	yaml_node_t at;
	struct buf allowed;
	bool ok = false;

	if (!expect(c, n, YAML_SCALAR_NODE, "path"))
		return false;
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	at = *n;
	buf_init(&allowed, 4096);
	tp->npath = 0;
	for (;;) {
		size_t b, e;
		int step = -1;
		while (i < len && s[i] == ' ')
			i++;
		b = i;
		while (i < len && s[i] != ' ' && s[i] != '-')
			i++;
		e = i;
		/* Point at the step when the scalar sits on one line. */
		if (n->start_mark.line == n->end_mark.line)
			at.start_mark.column = n->start_mark.column + b +
					       (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1);
		for (int k = 0; k < WSTEP__COUNT; k++)
			if (e - b == strlen(step_names[k]) && !memcmp(s + b, step_names[k], e - b))
				step = k;
		if (step < 0) {
			buf_reset(&allowed);
			(void)step_list(&allowed, -1, 0);
			perr(c, &at, "path", T("'%.*s' は経路の段階ではありません（使える段階: %s）",
					       "'%.*s' is not a step of a path (the steps are: %s)"),
			     (int)(e - b), s + b, allowed.len ? allowed.data : "");
			goto out;
		}
		if (tp->npath >= WATCH_PATH_MAX) {
			perr(c, &at, "path", T("経路が長すぎます（最大 %d 段階）",
					       "the path is too long (at most %d steps)"),
			     WATCH_PATH_MAX);
			goto out;
		}
		if (!step_may_follow(prev, step, tp->npath)) {
			buf_reset(&allowed);
			(void)step_list(&allowed, prev, tp->npath);
			if (prev == WSTEP__COUNT)
				perr(c, &at, "path", T("経路は %s で始まります（'%s' ではなく）",
						       "a path starts with %s, not '%s'"),
				     allowed.data, step_names[step]);
			else
				perr(c, &at, "path", T("'%s' の次に '%s' は来ません（来るのは: %s）",
						       "'%s' cannot be followed by '%s' (what can: %s)"),
				     step_names[prev], step_names[step], allowed.len ? allowed.data : "-");
			goto out;
		}
		tp->path[tp->npath++] = (uint8_t)step;
		prev = step;
		while (i < len && s[i] == ' ')
			i++;
		if (i >= len)
			break;
		if (len - i < 2 || s[i] != '-' || s[i + 1] != '>') {
			if (n->start_mark.line == n->end_mark.line)
				at.start_mark.column = n->start_mark.column + i +
						       (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1);
			perr(c, &at, "path", "%s", T("段階は -> で区切ります", "steps are separated by ->"));
			goto out;
		}
		i += 2;
	}
	if (prev != WSTEP_CASE_RESIDENT && prev != WSTEP_RESIDENT) {
		perr(c, n, "path", "%s",
		     T("経路は case.resident か resident.household -> resident で終わります",
		       "a path ends with case.resident or resident.household -> resident"));
		goto out;
	}
	ok = true;
out:
	buf_release(&allowed);
	return ok;
}

static bool tmpl_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *arg)
{
	struct tmpl_arg *ta = arg;
	int64_t v;
	(void)kn;
	if (!strcmp(key, "name")) {
		ta->name_seen = true;
		const char *s = scalar(c, vn, "name", WATCH_TEMPLATE_NAME_MAX - 1);
		bool ok = s != NULL;
		for (const char *q = s; ok && *q; q++)
			ok = (*q >= 'a' && *q <= 'z') || *q == '_';
		if (s && !ok)
			perr(c, vn, "name", T("'%s' は名前に使えません（a-z と _ のみ）",
					      "'%s' is not a valid name (a-z and _ only)"),
			     s);
		if (ok) {
			memcpy(ta->tp->name, s, strlen(s) + 1);
			ta->name = vn;
		}
	} else if (!strcmp(key, "label")) {
		ta->label = vn;
		mapping_walk(c, vn, "label", tmpl_label_key, ta);
	} else if (!strcmp(key, "path")) {
		ta->path_seen = true;
		if (tmpl_path(c, vn, ta->tp))
			ta->path = vn;
	} else if (!strcmp(key, "within_days")) {
		if (integer(c, vn, key, 1, 3650, &v))
			ta->tp->within_days = (int32_t)v;
	} else {
		return false;
	}
	return true;
}

static void tmpl_item(struct pctx *c, yaml_node_t *item, unsigned i, void *arg)
{
	struct watch_thresholds *t = arg;
	struct watch_template *tp = &t->templates[i];
	struct tmpl_arg ta;
	static const char *const builtin[] = {"none",	      "no_resident", "assigned",
					      "declared",     "dept_open",   "dept_grace",
					      "counter_flow", "household",   "namesake",
					      "template"};
	memset(tp, 0, sizeof(*tp));
	memset(&ta, 0, sizeof(ta));
	ta.tp = tp;
	mapping_walk(c, item, "explanations", tmpl_key, &ta);
	if (item->type != YAML_MAPPING_NODE)
		return;
	if (!ta.name_seen)
		perr(c, item, "name", "%s", T("必須です", "required"));
	if (!ta.path_seen)
		perr(c, item, "path", "%s", T("必須です", "required"));
	if (!ta.name || !ta.path)
		return;
	if (!ta.label || !ta.has_ja || !ta.has_en) {
		perr(c, ta.label ? ta.label : item, "label", "%s",
		     T("ja と en の両方が必要です", "needs both ja and en"));
		return;
	}
	for (size_t k = 0; k < ARRAY_SIZE(builtin); k++)
		if (!strcmp(builtin[k], tp->name)) {
			perr(c, ta.name, "name", T("'%s' は組み込みの説明の名前です",
						   "'%s' is the name of a built-in explanation"),
			     tp->name);
			return;
		}
	for (unsigned k = 0; k < i; k++)
		if (!strcmp(t->templates[k].name, tp->name)) {
			perr(c, ta.name, "name", T("'%s' が重複しています", "'%s' is defined twice"),
			     tp->name);
			return;
		}
}

struct watch_arg {
	const yaml_node_t *office_open, *office_close, *scan_window, *scan_gap;
};

static bool watch_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		      void *arg)
{
	struct watch_thresholds *t = &c->p->watch;
	struct watch_arg *wa = arg;
	int64_t v;
	(void)kn;
	if (!strcmp(key, "case_grace")) {
		(void)duration(c, vn, key, 0, 365 * DAY_SECS, &t->case_grace);
	} else if (!strcmp(key, "counter_flow")) {
		(void)duration(c, vn, key, 0, DAY_SECS, &t->counter_flow);
	} else if (!strcmp(key, "namesake_window")) {
		(void)duration(c, vn, key, 0, DAY_SECS, &t->namesake_window);
	} else if (!strcmp(key, "namesake_max")) {
		(void)count_u32(c, vn, key, 0, 10000, &t->namesake_max);
	} else if (!strcmp(key, "recent_case")) {
		(void)duration(c, vn, key, 0, 30 * DAY_SECS, &t->recent_case);
	} else if (!strcmp(key, "office_open")) {
		wa->office_open = vn;
		(void)clock_time(c, vn, key, &t->office_open);
	} else if (!strcmp(key, "office_close")) {
		wa->office_close = vn;
		(void)clock_time(c, vn, key, &t->office_close);
	} else if (!strcmp(key, "training_valid_days")) {
		if (integer(c, vn, key, 1, 3650, &v))
			t->training_valid_days = (int32_t)v;
	} else if (!strcmp(key, "scan_window")) {
		wa->scan_window = vn;
		(void)duration(c, vn, key, 60, DAY_SECS, &t->scan_window);
	} else if (!strcmp(key, "scan_gap")) {
		wa->scan_gap = vn;
		(void)duration(c, vn, key, 0, DAY_SECS, &t->scan_gap);
	} else if (!strcmp(key, "scan_floor")) {
		(void)count_u32(c, vn, key, 1, 1000000, &t->scan_floor);
	} else if (!strcmp(key, "scan_factor")) {
		(void)factor(c, vn, key, &t->scan_factor);
	} else if (!strcmp(key, "export_floor")) {
		(void)count_u32(c, vn, key, 1, 1000000, &t->export_floor);
	} else if (!strcmp(key, "export_factor")) {
		(void)factor(c, vn, key, &t->export_factor);
	} else if (!strcmp(key, "print_floor")) {
		(void)count_u32(c, vn, key, 1, 1000000, &t->print_floor);
	} else if (!strcmp(key, "print_factor")) {
		(void)factor(c, vn, key, &t->print_factor);
	} else if (!strcmp(key, "search_followup")) {
		(void)duration(c, vn, key, 0, DAY_SECS, &t->search_followup);
	} else if (!strcmp(key, "search_floor")) {
		(void)count_u32(c, vn, key, 1, 1000000, &t->search_floor);
	} else if (!strcmp(key, "search_factor")) {
		(void)factor(c, vn, key, &t->search_factor);
	} else if (!strcmp(key, "min_peers")) {
		(void)count_u32(c, vn, key, 1, 1000, &t->min_peers);
	} else if (!strcmp(key, "explanations")) {
		t->ntemplates = seq_walk(c, vn, key, WATCH_TEMPLATES_MAX, tmpl_item, t);
	} else {
		return false;
	}
	return true;
}

static void parse_watch(struct pctx *c, yaml_node_t *n)
{
	const struct watch_thresholds *t = &c->p->watch;
	struct watch_arg wa;
	int err = c->err;
	memset(&wa, 0, sizeof(wa));
	c->err = 0;
	mapping_walk(c, n, "watch", watch_key, &wa);
	/* The checks across fields only make sense on fields that parsed. */
	if (!c->err && t->office_open >= t->office_close)
		perr(c, wa.office_open ? wa.office_open : wa.office_close, "office_open", "%s",
		     T("office_open は office_close より前でなければなりません",
		       "office_open must be earlier than office_close"));
	if (!c->err && t->scan_gap > t->scan_window)
		perr(c, wa.scan_gap ? wa.scan_gap : wa.scan_window, "scan_gap", "%s",
		     T("scan_gap は scan_window 以下でなければなりません",
		       "scan_gap must not be longer than scan_window"));
	if (err)
		c->err = err;
}

void policy_watch_thresholds(const struct policy *p, struct watch_thresholds *out)
{
	*out = p->watch;
}

/* ---- the top level ---- */

struct top_arg {
	yaml_node_t *classification, *zones, *roles, *actions, *systems, *obligations, *rules;
	yaml_node_t *watch;
	bool has_version;
};

static bool top_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn, void *arg)
{
	struct top_arg *ta = arg;
	int64_t v;
	(void)kn;
	if (!strcmp(key, "version")) {
		ta->has_version = true;
		if (integer(c, vn, key, 1, 1, &v))
			c->p->version = (int)v;
	} else if (!strcmp(key, "name")) {
		c->p->name = scalar(c, vn, key, 256);
	} else if (!strcmp(key, "classification")) {
		ta->classification = vn;
	} else if (!strcmp(key, "zones")) {
		ta->zones = vn;
	} else if (!strcmp(key, "roles")) {
		ta->roles = vn;
	} else if (!strcmp(key, "actions")) {
		ta->actions = vn;
	} else if (!strcmp(key, "systems")) {
		ta->systems = vn;
	} else if (!strcmp(key, "obligations")) {
		ta->obligations = vn;
	} else if (!strcmp(key, "rules")) {
		ta->rules = vn;
	} else if (!strcmp(key, "watch")) {
		ta->watch = vn;
	} else {
		return false;
	}
	return true;
}

/* The system overrides are collected in a second pass so that the count
 * and the array stay simple. */
static bool ntk_collect_key(struct pctx *c, const char *key, yaml_node_t *kn, yaml_node_t *vn,
			    void *arg)
{
	struct policy *p = c->p;
	unsigned *n = arg;
	enum need_to_know m;
	(void)kn;
	if (!id_ok(key) || strlen(key) > POL_ID_MAX)
		return true;
	if (vn->type != YAML_SCALAR_NODE)
		return true;
	if (!strcmp((const char *)vn->data.scalar.value, "monitor"))
		m = NTK_MONITOR;
	else if (!strcmp((const char *)vn->data.scalar.value, "enforce"))
		m = NTK_ENFORCE;
	else
		return true;
	if (*n < p->nntk) {
		p->ntk[*n].system = arena_strdup(p->arena, key);
		p->ntk[*n].mode = m;
		(*n)++;
	}
	return true;
}

static void parse_systems(struct pctx *c, yaml_node_t *sys)
{
	struct policy *p = c->p;
	size_t nkeys = 0;
	unsigned n = 0;

	if (sys->type == YAML_MAPPING_NODE) {
		/* Find the need_to_know mapping and size the override array. */
		for (yaml_node_pair_t *pr = sys->data.mapping.pairs.start;
		     pr < sys->data.mapping.pairs.top; pr++) {
			yaml_node_t *kn = yaml_document_get_node(c->doc, pr->key);
			yaml_node_t *vn = yaml_document_get_node(c->doc, pr->value);
			if (kn && vn && kn->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)kn->data.scalar.value, "need_to_know") &&
			    vn->type == YAML_MAPPING_NODE)
				nkeys = (size_t)(vn->data.mapping.pairs.top - vn->data.mapping.pairs.start);
		}
	}
	if (nkeys > 4096) {
		perr(c, sys, "need_to_know", "%s", T("項目が多すぎます（最大 4096）",
						     "too many items (at most 4096)"));
		return;
	}
	if (nkeys) {
		p->ntk = arena_zalloc(p->arena, nkeys * sizeof(*p->ntk));
		p->nntk = (unsigned)nkeys;
	}
	mapping_walk(c, sys, "systems", systems_key, NULL);
	/* Second pass over the (already checked) overrides to store them. */
	if (nkeys && !c->err) {
		for (yaml_node_pair_t *pr = sys->data.mapping.pairs.start;
		     pr < sys->data.mapping.pairs.top; pr++) {
			yaml_node_t *kn = yaml_document_get_node(c->doc, pr->key);
			yaml_node_t *vn = yaml_document_get_node(c->doc, pr->value);
			if (kn && vn && kn->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)kn->data.scalar.value, "need_to_know") &&
			    vn->type == YAML_MAPPING_NODE) {
				for (yaml_node_pair_t *q = vn->data.mapping.pairs.start;
				     q < vn->data.mapping.pairs.top; q++) {
					yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
					yaml_node_t *v2 = yaml_document_get_node(c->doc, q->value);
					if (k2 && v2 && k2->type == YAML_SCALAR_NODE)
						(void)ntk_collect_key(
							c, (const char *)k2->data.scalar.value, k2,
							v2, &n);
				}
			}
		}
	}
	p->nntk = n;
}

static void parse_doc(struct pctx *c, yaml_node_t *root)
{
	struct policy *p = c->p;
	struct top_arg ta;
	bool seen_action[ACT__COUNT] = {false};

	memset(&ta, 0, sizeof(ta));
	mapping_walk(c, root, NULL, top_key, &ta);
	if (root->type != YAML_MAPPING_NODE)
		return;
	if (!ta.has_version)
		perr(c, root, "version", "%s", T("必須です（version: 1）", "required (version: 1)"));
	/* Order matters: definitions before the references to them. */
	if (ta.classification)
		mapping_walk(c, ta.classification, "classification", class_key, p);
	if (ta.zones)
		seq_walk(c, ta.zones, "zones", POL_MAX_SET, zone_item, p);
	else
		perr(c, root, "zones", "%s", T("必須です", "required"));
	if (ta.roles)
		named_list(c, ta.roles, "roles", p->roles, &p->nroles, POL_MAX_SET);
	else
		perr(c, root, "roles", "%s", T("必須です", "required"));
	if (ta.obligations)
		seq_walk(c, ta.obligations, "obligations", POL_MAX_SET, obligation_item, p);
	if (ta.actions) {
		mapping_walk(c, ta.actions, "actions", actions_key, seen_action);
		for (unsigned a = 0; a < ACT__COUNT; a++)
			if (ta.actions->type == YAML_MAPPING_NODE && !seen_action[a])
				perr(c, ta.actions, action_name((enum action)a), "%s",
				     T("操作の定義がありません（必要な役割がなければ roles: [] と書いてください）",
				       "action not defined (write roles: [] if it needs no role)"));
	} else {
		perr(c, root, "actions", "%s", T("必須です", "required"));
	}
	if (ta.systems)
		parse_systems(c, ta.systems);
	if (ta.rules) {
		seq_walk(c, ta.rules, "rules", POL_MAX_RULES, rule_item, p);
		check_known_rules(c, ta.rules);
	} else {
		perr(c, root, "rules", "%s", T("必須です", "required"));
	}
	if (ta.watch)
		parse_watch(c, ta.watch);
}

int policy_parse(const char *name, const char *text, size_t len, struct policy **out,
		 struct diag *d)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_doc = false;
	struct pctx c;
	struct policy *p = NULL;
	yaml_node_t *root;
	int r = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (len > POLICY_FILE_MAX) {
		diag_error(d, name, 0, 0, NULL, "%s", T("ポリシーファイルが大きすぎます（最大 4 MiB）",
						      "policy file too large (at most 4 MiB)"));
		return ERR_TOO_LARGE;
	}
	if (!yaml_parser_initialize(&parser))
		return ERR_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	if (!yaml_parser_load(&parser, &doc)) {
		diag_error(d, name, (long)parser.problem_mark.line + 1,
			   (long)parser.problem_mark.column + 1, NULL, T("YAML の構文エラー: %s%s%s",
									 "YAML syntax error: %s%s%s"),
			   parser.problem ? parser.problem : "?", parser.context ? " " : "",
			   parser.context ? parser.context : "");
		r = ERR_POLICY;
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		diag_error(d, name, 1, 1, NULL, "%s", T("ポリシーが空です", "the policy is empty"));
		r = ERR_POLICY;
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->arena = arena_new(16384);
	p->ntk_default = NTK_MONITOR;
	p->watch = (struct watch_thresholds)WATCH_THRESHOLDS_DEFAULT;
	c.file = name;
	c.doc = &doc;
	c.d = d;
	c.p = p;
	c.nnodes = (size_t)(doc.nodes.top - doc.nodes.start) + 1;
	c.seen = xcalloc(c.nnodes + 1, 1);
	c.seen[1] = 1; /* the root */
	parse_doc(&c, root);
	free(c.seen);
	if (c.err) {
		r = c.err;
		goto out;
	}
	/* A second document in the same file would be ignored: refuse it. */
	{
		yaml_document_t doc2;
		if (yaml_parser_load(&parser, &doc2)) {
			bool more = yaml_document_get_root_node(&doc2) != NULL;
			yaml_document_delete(&doc2);
			if (more) {
				diag_error(d, name, (long)parser.mark.line + 1, 0, NULL, "%s",
					   T("文書は一つだけにしてください（--- が二つ目の文書を始めています）",
					     "only one document is allowed (--- starts a second one)"));
				r = ERR_POLICY;
				goto out;
			}
		}
	}
	*out = p;
	p = NULL;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	policy_free(p);
	return r;
}

int policy_load_file(const char *path, struct policy **out, struct diag *d)
{
	struct buf text;
	int r;

	*out = NULL;
	buf_init(&text, POLICY_FILE_MAX);
	if ((r = instance_read_file(path, POLICY_FILE_MAX, &text)) < 0) {
		diag_error(d, path, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	r = policy_parse(path, text.data ? text.data : "", text.len, out, d);
out:
	buf_release(&text);
	return r;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	arena_free(p->arena);
	free(p);
}

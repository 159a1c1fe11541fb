/*
 * staff_dates.c - registry_staff_set_dates(): training and pledge dates
 * moved forward by the ISMS training workflow (isms/training.c), with the
 * change recorded in the ledger.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"

/* A stored date column into days (DAY_NONE when null or unreadable). */
static int32_t col_day(struct store_stmt *q, int i)
{
	size_t n = 0;
	const char *s = store_col_text(q, i, &n);
	int32_t d;

	if (!s || date_parse(s, n, &d) < 0)
		return DAY_NONE;
	return d;
}

static int put_day(struct buf *b, const char *name, int32_t day)
{
	char t[DATE_TEXT_MAX];

	if (day == DAY_NONE)
		return buf_printf(b, ",\"%s\":null", name);
	date_format(day, t);
	return buf_printf(b, ",\"%s\":\"%s\"", name, t);
}

int registry_staff_set_dates(struct store *st, struct ledger *lg, const char *actor,
			     const char *source, const struct reg_date_update *u, size_t n,
			     struct diag *d, size_t *changed)
{
	struct store_stmt *sel = NULL, *upd = NULL;
	struct buf body;
	size_t nchanged = 0;
	bool own_tx = false;
	int r;

	buf_init(&body, LEDGER_BODY_MAX);
	/* The changes and the new stamp commit together (the callers of the
	 * ISMS hold a transaction already). */
	if (!store_in_tx(st)) {
		if ((r = store_begin(st)) < 0)
			goto out;
		own_tx = true;
	}
	if (changed)
		*changed = 0;
	if ((r = store_prepare(st, "SELECT training, pledge FROM staff WHERE id = ?", &sel)) < 0 ||
	    (r = store_prepare(st, "UPDATE staff SET training = ?, pledge = ? WHERE id = ?",
			       &upd)) < 0)
		goto out;
	if ((r = buf_puts(&body, "{\"op\":\"staff_dates\",\"source\":")) < 0 ||
	    (r = buf_json_str(&body, source ? source : "", source ? strlen(source) : 0)) < 0 ||
	    (r = buf_puts(&body, ",\"changes\":[")) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int32_t old_t, old_p, new_t, new_p;
		char tt[DATE_TEXT_MAX], tp[DATE_TEXT_MAX];

		if ((r = store_reset(sel)) < 0 || (r = store_bind_str(sel, 1, u[i].staff_id)) < 0)
			goto out;
		if ((r = store_step(sel)) < 0)
			goto out;
		if (r == 0) {
			if (d)
				diag_error(d, NULL, 0, 0, "staff_id",
					   T("職員 '%s' は台帳にいません",
					     "no staff member '%s' in the registry"),
					   u[i].staff_id);
			r = ERR_NOT_FOUND;
			goto out;
		}
		old_t = col_day(sel, 0);
		old_p = col_day(sel, 1);
		new_t = old_t;
		new_p = old_p;
		if (u[i].training != DAY_NONE && (old_t == DAY_NONE || u[i].training > old_t))
			new_t = u[i].training;
		if (u[i].pledge != DAY_NONE && (old_p == DAY_NONE || u[i].pledge > old_p))
			new_p = u[i].pledge;
		if (new_t == old_t && new_p == old_p)
			continue;
		if (new_t != DAY_NONE)
			date_format(new_t, tt);
		if (new_p != DAY_NONE)
			date_format(new_p, tp);
		if ((r = store_reset(upd)) < 0 ||
		    (r = store_bind_str(upd, 1, new_t != DAY_NONE ? tt : NULL)) < 0 ||
		    (r = store_bind_str(upd, 2, new_p != DAY_NONE ? tp : NULL)) < 0 ||
		    (r = store_bind_str(upd, 3, u[i].staff_id)) < 0 || (r = store_step(upd)) < 0)
			goto out;
		if ((nchanged > 0 && (r = buf_putc(&body, ',')) < 0) ||
		    (r = buf_puts(&body, "{\"id\":")) < 0 ||
		    (r = buf_json_str(&body, u[i].staff_id, strlen(u[i].staff_id))) < 0 ||
		    (r = put_day(&body, "training", new_t)) < 0 ||
		    (r = put_day(&body, "previous_training", old_t)) < 0 ||
		    (r = put_day(&body, "pledge", new_p)) < 0 ||
		    (r = put_day(&body, "previous_pledge", old_p)) < 0 ||
		    (r = buf_putc(&body, '}')) < 0)
			goto out;
		nchanged++;
	}
	if ((r = buf_puts(&body, "]}")) < 0)
		goto out;
	if (nchanged > 0 && (r = registry_stamp_renew(st)) < 0)
		goto out;
	if (own_tx) {
		own_tx = false;
		if ((r = store_commit(st)) < 0)
			goto out;
	}
	if (nchanged > 0 && lg) {
		struct audit_rec rec = {"registry", TS_NONE, actor ? actor : "system", body.data,
					body.len};
		if ((r = ledger_append(lg, &rec, NULL)) < 0)
			goto out;
	}
	if (changed)
		*changed = nchanged;
	r = 0;
out:
	if (own_tx)
		store_rollback(st);
	store_finalize(sel);
	store_finalize(upd);
	buf_release(&body);
	return r;
}

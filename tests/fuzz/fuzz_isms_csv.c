/* libFuzzer harness: the ISMS engine's CSV import (isms_import_csv, the
 * RFC 4180 reader and every field check of the kind assets) and the
 * Markdown renderer of the public policy page (isms_markdown_html). The
 * store is in memory and the actor a department manager of a department
 * that does not exist, so no row can ever pass (organisation-wide rows
 * are refused, rows of D9 fail the reference check, others are refused):
 * nothing is written and the ledger is never needed. */
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "isms/isms.h"
#include "isms/plan.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static struct actor mgr;
	struct isms_ctx c = {0};
	struct diag d;
	struct buf html;
	size_t n = 0;
	char err[128], *text;

	if (!st) {
		if (store_open(":memory:", true, &st, err, sizeof(err)) < 0 ||
		    store_migrate(st) < 0 ||
		    store_exec(st, "INSERT INTO departments (id, name, parent, systems) VALUES "
				   "('D1', 'd', NULL, '[]')") < 0)
			abort();
		snprintf(mgr.name, sizeof(mgr.name), "fuzz");
		mgr.role = ROLE_DEPT_MANAGER;
		snprintf(mgr.dept, sizeof(mgr.dept), "D9");
	}
	c.st = st;
	c.actor = &mgr;
	c.now = 1780282800; /* 2026-06-01 */
	diag_init(&d, 20);
	if (isms_import_csv(&c, &isms_kind_assets, (const char *)data, size, "fuzz.csv", &d, &n) ==
		0 &&
	    n > 0)
		abort(); /* a row was written: the premise above is broken */
	diag_release(&d);

	text = xstrndup((const char *)data, size);
	buf_init(&html, (size_t)8 << 20);
	(void)isms_markdown_html(text, &html);
	buf_release(&html);
	free(text);
	return 0;
}

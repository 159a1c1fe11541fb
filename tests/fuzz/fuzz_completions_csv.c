/* libFuzzer harness: the e-learning completions CSV (docs/isms-people.md)
 * through the real reader and validator, isms_training_import. The store
 * is in memory with one staff member and no course, so no row is ever
 * valid and nothing is written: every input exercises the parse and the
 * checks only (and the ledger is never needed). */
#include "base/base.h"
#include "base/actor.h"
#include "base/diag.h"
#include "isms/people.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static struct actor admin;
	struct isms_ctx c = {0};
	struct diag d;
	size_t made, upd;
	char err[128];

	if (!st) {
		if (store_open(":memory:", true, &st, err, sizeof(err)) < 0 ||
		    store_migrate(st) < 0 ||
		    store_exec(
			st, "INSERT INTO departments (id, name, parent, systems) VALUES "
			    "('D1', 'd', NULL, '[]');"
			    "INSERT INTO staff (id, name, surname, dept, employment, roles, zones, "
			    "start_date) VALUES ('S1', 'n', 's', 'D1', 'regular', '[]', '[]', "
			    "'2020-04-01')") < 0)
			abort();
		snprintf(admin.name, sizeof(admin.name), "fuzz");
		admin.role = ROLE_ADMIN;
	}
	c.st = st;
	c.actor = &admin;
	c.now = 1780282800; /* 2026-06-01 */
	diag_init(&d, 20);
	(void)isms_training_import(&c, (const char *)data, size, "fuzz.csv", &d, &made, &upd);
	diag_release(&d);
	return 0;
}

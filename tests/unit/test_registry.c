/* Unit tests for src/registry: validation, import, idempotence, load, CSV. */
#include "fx_tree.h"
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "store/store.h"

struct fx {
	char dir[64];
	char data[96];
	struct store *st;
	struct ledger *lg;
	struct diag d;
	struct import_stats stats[8];
	size_t nstats;
	const char *csv;
	uint64_t lg0; /* ledger records before the test */
};

static const char *SYSTEMS =
    "{\"id\":\"juki\",\"name\":\"住民記録システム\",\"zone\":\"mynumber\","
    "\"confidentiality\":\"3B\",\"integrity\":\"2\",\"availability\":\"2\","
    "\"need_to_know\":\"enforce\"}\n"
    "{\"id\":\"tax\",\"name\":\"税務システム\",\"zone\":\"mynumber\",\"confidentiality\":\"3\"}\n";
/* The first department's parent comes later in the file. */
static const char *DEPARTMENTS =
    "{\"id\":\"D-KUMIN\",\"name\":\"中央区 戸籍住民課\",\"parent\":\"D-CHUO\","
    "\"systems\":[\"juki\",\"tax\"]}\n"
    "{\"id\":\"D-CHUO\",\"name\":\"中央区役所\",\"parent\":null,\"systems\":[]}\n";
static const char *STAFF =
    "{\"id\":\"S0001\",\"name\":\"山田 太郎\",\"surname\":\"山田\",\"dept\":\"D-KUMIN\","
    "\"employment\":\"regular\",\"roles\":[\"clerk\",\"dv_support_handler\"],"
    "\"zones\":[\"mynumber\",\"lgwan\"],\"start\":\"2020-04-01\",\"end\":null,"
    "\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}\n"
    "{\"id\":\"S0002\",\"name\":\"委託 花子\",\"surname\":\"委託\",\"dept\":\"D-CHUO\","
    "\"employment\":\"contractor\",\"roles\":[],\"zones\":[\"lgwan\"],"
    "\"start\":\"2025-04-01\",\"end\":\"2027-03-31\",\"contractor\":\"K-01\","
    "\"address_id\":\"A9\",\"household_id\":\"H9\"}\n";
static const char *RESIDENTS =
    "{\"id\":\"R2\",\"surname\":\"髙橋\",\"given\":\"𠮷子\",\"birth\":\"1975-02-28\","
    "\"address_id\":\"A2\",\"household_id\":\"H2\",\"flags\":[]}\n"
    "{\"id\":\"R1\",\"surname\":\"佐藤\",\"given\":\"花子\",\"birth\":\"1980-01-01\","
    "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[\"dv_support\"]}\n";
static const char *CASES =
    "{\"id\":\"C1\",\"resident_id\":\"R1\",\"dept\":\"D-KUMIN\",\"kind\":\"certificate\","
    "\"assigned_to\":\"S0001\",\"opened\":\"2026-04-01T09:00:00+09:00\",\"closed\":null}\n"
    "{\"id\":\"C2\",\"resident_id\":\"R1\",\"dept\":\"D-KUMIN\",\"kind\":\"transfer_in\","
    "\"opened\":\"2026-03-31T23:30:00Z\",\"closed\":\"2026-04-02T10:00:00.5+09:00\"}\n";
static const char *OVERTIME = "{\"staff_id\":\"S0001\",\"start\":\"2026-04-01T17:30:00+09:00\","
			      "\"end\":\"2026-04-01T20:00:00+09:00\"}\n";

static const char *const tables[] = {"systems",	  "departments", "staff",
				     "residents", "cases",	 "overtime"};

static void put(struct fx *f, const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", f->data, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

static void puts_file(struct fx *f, const char *name, const char *text)
{
	put(f, name, text, strlen(text));
}

static void drop(struct fx *f, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->data, name);
	unlink(path);
}

static void valid_set(struct fx *f)
{
	puts_file(f, "systems.jsonl", SYSTEMS);
	puts_file(f, "departments.jsonl", DEPARTMENTS);
	puts_file(f, "staff.jsonl", STAFF);
	puts_file(f, "residents.jsonl", RESIDENTS);
	puts_file(f, "cases.jsonl", CASES);
	puts_file(f, "overtime.jsonl", OVERTIME);
}

static void open_store(struct fx *f)
{
	char path[160], err[256];
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	assert_int_equal(store_open(path, true, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(f->st), 0);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[160];
	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-reg-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	mkdir(f->data, 0700);
	snprintf(path, sizeof(path), "%s/ledger", f->dir);
	mkdir(path, 0700);
	if (ledger_open(path, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	f->lg0 = ledger_size(f->lg);
	open_store(f);
	diag_init(&f->d, 200);
	*state = f;
	return 0;
}

static void rm_rf(const char *dir)
{
	/* Only under /tmp/mamori-reg-: the fixture's own folder. */
	if (strncmp(dir, "/tmp/mamori-reg-", 16) == 0)
		fx_rm_tree(dir);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	ledger_close(f->lg);
	diag_release(&f->d);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static int do_import(struct fx *f)
{
	struct import_opts o = {f->data, f->csv, "test", false, 200};
	diag_release(&f->d);
	return registry_import(f->st, f->lg, &o, &f->d, f->stats, &f->nstats);
}

static int64_t tcount(struct fx *f, const char *table)
{
	struct store_stmt *s;
	char sql[80];
	int64_t n = -1;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	assert_int_equal(store_prepare(f->st, sql, &s), 0);
	if (store_step(s) == 1)
		n = store_col_int(s, 0);
	store_finalize(s);
	return n;
}

static void assert_empty(struct fx *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		assert_int_equal(tcount(f, tables[i]), 0);
}

static void dump(const struct diag *d)
{
	diag_print(d, stderr);
}

/* Find an error item; msg_part may be NULL. */
static const struct diag_item *find(const struct diag *d, const char *file, long line,
				    const char *field, const char *msg_part)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		if (it->warning || !it->file || strcmp(it->file, file) || it->line != line)
			continue;
		if (field && (!it->field || strcmp(it->field, field)))
			continue;
		if (!field && it->field)
			continue;
		if (msg_part && !strstr(it->msg, msg_part))
			continue;
		return it;
	}
	dump(d);
	return NULL;
}

static const struct import_stats *stat_of(struct fx *f, const char *kind)
{
	for (size_t i = 0; i < f->nstats; i++)
		if (!strcmp(f->stats[i].kind, kind))
			return &f->stats[i];
	return NULL;
}

static void test_valid_and_again(void **state)
{
	struct fx *f = *state;
	const struct import_stats *s;
	struct buf b;
	unsigned char h[32];
	char hex[65];

	valid_set(f);
	if (do_import(f) != 0)
		dump(&f->d);
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->nstats, 6);
	const size_t lines[] = {2, 2, 2, 2, 2, 1};
	for (size_t i = 0; i < 6; i++) {
		s = stat_of(f, tables[i]);
		assert_non_null(s);
		assert_int_equal(s->lines, lines[i]);
		assert_int_equal(s->inserted, lines[i]);
		assert_int_equal(s->updated, 0);
		assert_int_equal(s->unchanged, 0);
		assert_int_equal(tcount(f, tables[i]), (int64_t)lines[i]);
	}
	assert_int_equal(ledger_size(f->lg), f->lg0 + 1);
	buf_init(&b, 1 << 20);
	assert_int_equal(ledger_read(f->lg, f->lg0, &b), 0);
	assert_non_null(strstr(b.data, "import"));
	crypto_hash_sha256(h, (const unsigned char *)SYSTEMS, strlen(SYSTEMS));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	assert_non_null(strstr(b.data, hex));
	assert_non_null(strstr(b.data, "residents.jsonl"));

	/* The same files again: nothing changes. */
	assert_int_equal(do_import(f), 0);
	for (size_t i = 0; i < 6; i++) {
		s = stat_of(f, tables[i]);
		assert_int_equal(s->inserted, 0);
		assert_int_equal(s->updated, 0);
		assert_int_equal(s->unchanged, lines[i]);
		assert_int_equal(tcount(f, tables[i]), (int64_t)lines[i]);
	}
	assert_int_equal(ledger_size(f->lg), f->lg0 + 2);

	/* One changed field and one new row. */
	puts_file(f, "residents.jsonl",
		  "{\"id\":\"R2\",\"surname\":\"髙橋\",\"given\":\"𠮷子\",\"birth\":\"1975-02-28\","
		  "\"address_id\":\"A3\",\"household_id\":\"H2\",\"flags\":[]}\n"
		  "{\"id\":\"R1\",\"surname\":\"佐藤\",\"given\":\"花子\",\"birth\":\"1980-01-01\","
		  "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[\"dv_support\"]}\n"
		  "{\"id\":\"R3\",\"surname\":\"鈴木\",\"given\":\"一郎\",\"birth\":\"2000-02-29\","
		  "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[\"vip\",\"staff\"]}");
	assert_int_equal(do_import(f), 0);
	s = stat_of(f, "residents");
	assert_int_equal(s->lines, 3);
	assert_int_equal(s->inserted, 1);
	assert_int_equal(s->updated, 1);
	assert_int_equal(s->unchanged, 1);
	assert_int_equal(tcount(f, "residents"), 3);
	s = stat_of(f, "cases");
	assert_int_equal(s->inserted + s->updated, 0);
	buf_release(&b);
}

static void test_load_roundtrip(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->nsystems, 2);
	assert_string_equal(rd->systems[0].id, "juki");
	assert_string_equal(rd->systems[0].name, "住民記録システム");
	assert_int_equal(rd->systems[0].need_to_know, NTK_ENFORCE);
	assert_int_equal(rd->systems[1].need_to_know, NTK_DEFAULT);
	assert_null(rd->systems[1].integrity);
	assert_int_equal(rd->ndepartments, 2);
	assert_string_equal(rd->departments[0].id, "D-CHUO");
	assert_null(rd->departments[0].parent);
	assert_int_equal(rd->departments[0].systems.n, 0);
	assert_string_equal(rd->departments[1].parent, "D-CHUO");
	assert_int_equal(rd->departments[1].systems.n, 2);
	assert_string_equal(rd->departments[1].systems.v[1], "tax");
	assert_int_equal(rd->nstaff, 2);
	assert_string_equal(rd->staff[0].name, "山田 太郎");
	assert_int_equal(rd->staff[0].employment, EMP_REGULAR);
	assert_int_equal(rd->staff[0].start, days_from_civil(2020, 4, 1));
	assert_int_equal(rd->staff[0].end, DAY_NONE);
	assert_int_equal(rd->staff[0].training, days_from_civil(2026, 1, 10));
	assert_int_equal(rd->staff[0].roles.n, 2);
	assert_string_equal(rd->staff[0].roles.v[1], "dv_support_handler");
	assert_int_equal(rd->staff[0].zones.n, 2);
	assert_null(rd->staff[0].contractor);
	assert_int_equal(rd->staff[1].employment, EMP_CONTRACTOR);
	assert_int_equal(rd->staff[1].end, days_from_civil(2027, 3, 31));
	assert_int_equal(rd->staff[1].pledge, DAY_NONE);
	assert_string_equal(rd->staff[1].contractor, "K-01");
	/* Sorted by id; Japanese text byte for byte. */
	assert_int_equal(rd->nresidents, 2);
	assert_string_equal(rd->residents[0].id, "R1");
	assert_memory_equal(rd->residents[1].surname, "髙橋", strlen("髙橋") + 1);
	assert_memory_equal(rd->residents[1].given, "𠮷子", strlen("𠮷子") + 1);
	assert_int_equal(rd->residents[0].flags.n, 1);
	assert_string_equal(rd->residents[0].flags.v[0], "dv_support");
	assert_int_equal(rd->residents[1].birth, days_from_civil(1975, 2, 28));
	/* Cases by resident then opened: C2 (23:30Z = 08:30 JST) before C1. */
	assert_int_equal(rd->ncases, 2);
	assert_string_equal(rd->cases[0].id, "C2");
	assert_true(rd->cases[0].opened ==
		    (int64_t)days_from_civil(2026, 3, 31) * 86400 + 23 * 3600 + 1800);
	assert_true(rd->cases[0].closed == (int64_t)days_from_civil(2026, 4, 2) * 86400 + 3600);
	assert_null(rd->cases[0].assigned_to);
	assert_true(rd->cases[1].closed == TS_NONE);
	assert_string_equal(rd->cases[1].assigned_to, "S0001");
	assert_int_equal(rd->novertime, 1);
	assert_true(rd->overtime[0].end - rd->overtime[0].start == 2 * 3600 + 1800);
	registry_data_free(rd);

	/* The stored text is exactly the file's. */
	struct store_stmt *s;
	size_t n;
	const char *t;
	assert_int_equal(store_prepare(f->st,
				       "SELECT closed, given FROM cases, residents "
				       "WHERE cases.id = 'C2' AND residents.id = 'R2'",
				       &s),
			 0);
	assert_int_equal(store_step(s), 1);
	t = store_col_text(s, 0, &n);
	assert_int_equal(n, strlen("2026-04-02T10:00:00.5+09:00"));
	assert_memory_equal(t, "2026-04-02T10:00:00.5+09:00", n);
	t = store_col_text(s, 1, &n);
	assert_memory_equal(t, "𠮷子", n);
	store_finalize(s);
	registry_data_free(NULL);
}

struct bad {
	const char *file, *line, *field, *msg;
};

static const struct bad bads[] = {
    {"systems.jsonl", "{\"id\":5,\"name\":\"x\",\"zone\":\"lgwan\",\"confidentiality\":\"2\"}",
     "id", "expected a string"},
    {"systems.jsonl",
     "{\"id\":\"a b\",\"name\":\"x\",\"zone\":\"lgwan\",\"confidentiality\":\"2\"}", "id",
     "not a valid id"},
    {"systems.jsonl", "{\"id\":\"\",\"name\":\"x\",\"zone\":\"lgwan\",\"confidentiality\":\"2\"}",
     "id", "not a valid id"},
    {"systems.jsonl",
     "{\"id\":\"x1234567890123456789012345678901234567890123456789012345678901234\",\"name\":\"x\","
     "\"zone\":\"lgwan\",\"confidentiality\":\"2\"}",
     "id", "not a valid id"},
    {"systems.jsonl", "{\"id\":\"s\",\"name\":\"x\",\"zone\":\"moon\",\"confidentiality\":\"2\"}",
     "zone", "not one of"},
    {"systems.jsonl", "{\"id\":\"s\",\"name\":\"x\",\"zone\":\"lgwan\"}", "confidentiality",
     "required"},
    {"systems.jsonl",
     "{\"id\":\"s\",\"name\":\"x\",\"zone\":\"lgwan\",\"confidentiality\":\"2\",\"need_to_know\":"
     "\"deny\"}",
     "need_to_know", "not one of"},
    {"systems.jsonl", "{\"id\":\"s\",\"name\":true,\"zone\":\"lgwan\",\"confidentiality\":\"2\"}",
     "name", "expected a string"},
    {"departments.jsonl", "{\"id\":\"D9\",\"name\":\"x\",\"systems\":\"juki\"}", "systems",
     "array"},
    {"departments.jsonl", "{\"id\":\"D9\",\"name\":\"x\",\"systems\":[1]}", "systems", "item 1"},
    {"departments.jsonl", "{\"id\":\"D9\",\"systems\":[]}", "name", "required"},
    {"departments.jsonl", "{\"id\":\"D9\",\"name\":\"x\",\"parent\":\"a b\",\"systems\":[]}",
     "parent", "not a valid id"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":\"boss\","
     "\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\"}",
     "employment", "not one of"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[\"lgwan\",\"moon\"],\"start\":\"2020-04-01\"}",
     "zones", "item 2"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-13-01\"}",
     "start", "not a date"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\",\"pledge\":\"2021-02-29\"}",
     "pledge", "not a date"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\",\"training\":\"2020/01/01\"}",
     "training", "not a date"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\",\"end\":\"2020-03-31\"}",
     "end", "before"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":{},\"zones\":[],\"start\":\"2020-04-01\"}",
     "roles", "array"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"employment\":\"regular\",\"roles\":[],"
     "\"zones\":[],\"start\":\"2020-04-01\"}",
     "dept", "required"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-CHUO\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\",\"household_id\":7}",
     "household_id", "expected a string"},
    {"residents.jsonl",
     "{\"id\":\"R9\",\"surname\":\"x\",\"given\":\"y\",\"address_id\":\"A\",\"household_id\":\"H\","
     "\"flags\":[]}",
     "birth", "required"},
    {"residents.jsonl",
     "{\"id\":\"R9\",\"surname\":null,\"given\":\"y\",\"birth\":\"2000-01-01\",\"address_id\":"
     "\"A\",\"household_id\":\"H\",\"flags\":[]}",
     "surname", "required"},
    {"residents.jsonl",
     "{\"id\":\"R9\",\"surname\":\"x\",\"given\":\"y\",\"birth\":\"2000-01-01\",\"address_id\":"
     "\"A\",\"household_id\":\"H\",\"flags\":[1]}",
     "flags", "item 1"},
    {"residents.jsonl",
     "{\"id\":\"R9\",\"surname\":\"x\",\"given\":\"y\",\"birth\":\"1899-12-31\",\"address_id\":"
     "\"A\",\"household_id\":\"H\",\"flags\":[]}",
     "birth", "not a date"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R1\",\"dept\":\"D-CHUO\",\"kind\":\"k\",\"opened\":\"2026-"
     "04-01T09:00:00\"}",
     "opened", "RFC 3339"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R1\",\"dept\":\"D-CHUO\",\"kind\":\"k\",\"opened\":\"2026-"
     "04-01T09:00:00+09:00\",\"closed\":\"2026-04-01T08:59:59+09:00\"}",
     "closed", "before"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":1,\"dept\":\"D-CHUO\",\"kind\":\"k\",\"opened\":\"2026-04-"
     "01T09:00:00+09:00\"}",
     "resident_id", "expected a string"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R1\",\"dept\":\"D-CHUO\",\"opened\":\"2026-04-01T09:00:00+"
     "09:00\"}",
     "kind", "required"},
    {"overtime.jsonl",
     "{\"staff_id\":\"S0001\",\"start\":\"2026-04-02T20:00:00+09:00\",\"end\":\"2026-04-02T18:00:"
     "00+09:00\"}",
     "end", "before"},
    {"overtime.jsonl",
     "{\"staff_id\":\"S0001\",\"start\":\"2026-04-02\",\"end\":\"2026-04-02T18:00:00+09:00\"}",
     "start", "RFC 3339"},
    {"overtime.jsonl",
     "{\"start\":\"2026-04-02T17:00:00+09:00\",\"end\":\"2026-04-02T18:00:00+09:00\"}", "staff_id",
     "required"},
    /* References across files. */
    {"departments.jsonl", "{\"id\":\"D9\",\"name\":\"x\",\"parent\":\"D-NONE\",\"systems\":[]}",
     "parent", "unknown department 'D-NONE'"},
    {"departments.jsonl", "{\"id\":\"D9\",\"name\":\"x\",\"systems\":[\"juki\",\"nenkin\"]}",
     "systems", "unknown system 'nenkin'"},
    {"staff.jsonl",
     "{\"id\":\"S9\",\"name\":\"x\",\"surname\":\"x\",\"dept\":\"D-NONE\",\"employment\":"
     "\"regular\",\"roles\":[],\"zones\":[],\"start\":\"2020-04-01\"}",
     "dept", "unknown department"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R404\",\"dept\":\"D-CHUO\",\"kind\":\"k\",\"opened\":\"2026-"
     "04-01T09:00:00+09:00\"}",
     "resident_id", "unknown resident 'R404'"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R1\",\"dept\":\"D-CHUO\",\"kind\":\"k\",\"assigned_to\":"
     "\"S404\",\"opened\":\"2026-04-01T09:00:00+09:00\"}",
     "assigned_to", "unknown staff member"},
    {"cases.jsonl",
     "{\"id\":\"C9\",\"resident_id\":\"R1\",\"dept\":\"D404\",\"kind\":\"k\",\"opened\":\"2026-04-"
     "01T09:00:00+09:00\"}",
     "dept", "unknown department"},
    {"overtime.jsonl",
     "{\"staff_id\":\"S404\",\"start\":\"2026-04-02T17:00:00+09:00\",\"end\":\"2026-04-02T18:00:00+"
     "09:00\"}",
     "staff_id", "unknown staff member"},
    /* Duplicates within a file. */
    {"residents.jsonl",
     "{\"id\":\"R1\",\"surname\":\"x\",\"given\":\"y\",\"birth\":\"2000-01-01\",\"address_id\":"
     "\"A\",\"household_id\":\"H\",\"flags\":[]}",
     "id", "duplicate id 'R1' (first on line 2)"},
    {"overtime.jsonl",
     "{\"staff_id\":\"S0001\",\"start\":\"2026-04-01T17:30:00+09:00\",\"end\":\"2026-04-01T21:00:"
     "00+09:00\"}",
     "start", "first on line 1"},
};

static const char *original(const char *file)
{
	if (!strcmp(file, "systems.jsonl"))
		return SYSTEMS;
	if (!strcmp(file, "departments.jsonl"))
		return DEPARTMENTS;
	if (!strcmp(file, "staff.jsonl"))
		return STAFF;
	if (!strcmp(file, "residents.jsonl"))
		return RESIDENTS;
	if (!strcmp(file, "cases.jsonl"))
		return CASES;
	return OVERTIME;
}

static long count_lines(const char *s)
{
	long n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_bad_fields(void **state)
{
	struct fx *f = *state;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		const struct bad *x = &bads[i];
		const char *orig = original(x->file);
		long line = count_lines(orig) + 2; /* after a blank line */
		valid_set(f);
		buf_reset(&b);
		assert_int_equal(buf_printf(&b, "%s\n%s\n", orig, x->line), 0);
		put(f, x->file, b.data, b.len);
		assert_int_equal(do_import(f), ERR_INVALID);
		if (!find(&f->d, x->file, line, x->field, x->msg))
			fail_msg("case %zu: no error %s:%ld field '%s' with '%s'", i, x->file, line,
				 x->field, x->msg);
		assert_int_equal(f->nstats, 0);
		assert_empty(f);
		assert_int_equal(ledger_size(f->lg), f->lg0);
	}
	buf_release(&b);
}

static void test_unknown_field_warns_once(void **state)
{
	struct fx *f = *state;
	valid_set(f);
	puts_file(f, "systems.jsonl",
		  "{\"id\":\"juki\",\"name\":\"j\",\"zone\":\"mynumber\",\"confidentiality\":\"3\","
		  "\"colour\":\"red\"}\n"
		  "{\"id\":\"tax\",\"name\":\"t\",\"zone\":\"mynumber\",\"confidentiality\":\"3\","
		  "\"colour\":\"blue\",\"owner\":\"x\"}\n");
	assert_int_equal(do_import(f), 0);
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->d.warnings, 2); /* colour once, owner once */
	assert_true(f->d.items[0].warning);
	assert_string_equal(f->d.items[0].file, "systems.jsonl");
	assert_int_equal(f->d.items[0].line, 1);
	assert_non_null(strstr(f->d.items[0].msg, "colour"));
	assert_int_equal(f->d.items[1].line, 2);
	assert_non_null(strstr(f->d.items[1].msg, "owner"));
	assert_int_equal(tcount(f, "systems"), 2);
}

static void test_refs_to_store(void **state)
{
	struct fx *f = *state;
	const struct import_stats *s;
	valid_set(f);
	assert_int_equal(do_import(f), 0);
	/* Only cases now: the resident, department and staff are in the store. */
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (strcmp(tables[i], "cases")) {
			char n[64];
			snprintf(n, sizeof(n), "%s.jsonl", tables[i]);
			drop(f, n);
		}
	puts_file(f, "cases.jsonl",
		  "{\"id\":\"C3\",\"resident_id\":\"R2\",\"dept\":\"D-CHUO\",\"kind\":\"k\","
		  "\"assigned_to\":\"S0002\",\"opened\":\"2026-04-03T09:00:00+09:00\"}\n"
		  "{\"id\":\"C4\",\"resident_id\":\"R5\",\"dept\":\"D-CHUO\",\"kind\":\"k\","
		  "\"opened\":\"2026-04-03T09:00:00+09:00\"}\n");
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_int_equal(f->d.errors, 1);
	assert_non_null(find(&f->d, "cases.jsonl", 2, "resident_id", "R5"));
	assert_int_equal(tcount(f, "cases"), 2);
	puts_file(f, "cases.jsonl",
		  "{\"id\":\"C3\",\"resident_id\":\"R2\",\"dept\":\"D-CHUO\",\"kind\":\"k\","
		  "\"assigned_to\":\"S0002\",\"opened\":\"2026-04-03T09:00:00+09:00\"}\n");
	assert_int_equal(do_import(f), 0);
	assert_int_equal(f->nstats, 1);
	s = stat_of(f, "cases");
	assert_int_equal(s->inserted, 1);
	assert_int_equal(tcount(f, "cases"), 3);
}

static void test_all_problems_of_a_record(void **state)
{
	struct fx *f = *state;
	valid_set(f);
	puts_file(f, "cases.jsonl",
		  "{\"id\":\"C9\",\"resident_id\":\"R404\",\"dept\":\"a b\",\"kind\":7,"
		  "\"assigned_to\":\"S404\",\"opened\":\"2026-04-01T09:00:00+09:00\"}\n");
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_non_null(find(&f->d, "cases.jsonl", 1, "resident_id", "unknown resident 'R404'"));
	assert_non_null(find(&f->d, "cases.jsonl", 1, "dept", "not a valid id"));
	assert_non_null(find(&f->d, "cases.jsonl", 1, "kind", "expected a string, got a number"));
	assert_non_null(
	    find(&f->d, "cases.jsonl", 1, "assigned_to", "unknown staff member 'S404'"));
	/* The bad dept is not also reported as an unknown department. */
	assert_int_equal(f->d.errors, 4);
	assert_empty(f);
}

static void test_syntax_utf8_long_lines(void **state)
{
	struct fx *f = *state;
	struct buf b;

	valid_set(f);
	buf_init(&b, 1 << 20);
	/* line 3: invalid UTF-8; line 4: too long; line 5: bad JSON; line 6:
	 * not an object; line 7 blank with spaces; line 8 bad date, no final
	 * newline. */
	assert_int_equal(buf_puts(&b, RESIDENTS), 0);
	assert_int_equal(buf_puts(&b, "{\"id\":\"R7\",\"surname\":\"\xff\xfe\",\"given\":\"y\","
				      "\"birth\":\"2000-01-01\",\"address_id\":\"A\","
				      "\"household_id\":\"H\",\"flags\":[]}\n"),
			 0);
	assert_int_equal(buf_puts(&b, "{\"id\":\"R8\",\"surname\":\""), 0);
	for (int i = 0; i < 70000; i++)
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(buf_puts(&b, "\"}\n{\"id\":\"R9\",\n[1,2]\n   \t\n"
				      "{\"id\":\"R10\",\"surname\":\"x\",\"given\":\"y\","
				      "\"birth\":\"2000-02-30\",\"address_id\":\"A\","
				      "\"household_id\":\"H\",\"flags\":[]}"),
			 0);
	put(f, "residents.jsonl", b.data, b.len);
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_non_null(find(&f->d, "residents.jsonl", 3, NULL, "UTF-8"));
	assert_non_null(find(&f->d, "residents.jsonl", 4, NULL, "too long"));
	assert_non_null(find(&f->d, "residents.jsonl", 5, NULL, "invalid JSON"));
	assert_non_null(find(&f->d, "residents.jsonl", 6, NULL, "JSON object"));
	assert_non_null(find(&f->d, "residents.jsonl", 8, "birth", "not a date"));
	assert_int_equal(f->d.errors, 5);
	assert_empty(f);
	buf_release(&b);
}

/* The UTF-8 check one byte at a time, as reg_utf8_valid was before its
 * fast paths: the judge of the test below. */
static bool utf8_ref(const unsigned char *s, size_t n, size_t *bad)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			goto fail;
		if (n - i <= need)
			goto fail;
		for (unsigned j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto fail;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += need + 1;
	}
	return true;
fail:
	*bad = i;
	return false;
}

/*
 * reg_utf8_valid skips ASCII sixteen bytes at a time and runs of the
 * common sequences in a tight loop: on random mixes of ASCII, good
 * sequences of every length and bad bytes, at every alignment, it must
 * say what the byte-at-a-time check says, and name the same first bad
 * byte.
 */
static void test_utf8_fast_paths(void **state)
{
	static const char *const pieces[] = {
		"a", "abcdefghijklmnopq", "\"", "\xc3\xa9", "\xe4\xb8\xad", "\xef\xbd\x9a",
		"\xf0\x9f\x98\x80", "\xe0\xa4\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xe0\x80\x80",
		"\xc0\xaf", "\xc2", "\xe4\xb8", "\xe4\x41\xb8", "\x80", "\xff", "\xf4\x90\x80\x80",
		"\xdf\xbf", "\x7f", "\x01",
	};
	unsigned char t[200];
	uint64_t x = 99;
	(void)state;

	for (int round = 0; round < 20000; round++) {
		size_t n = 0, bad1 = SIZE_MAX, bad2 = SIZE_MAX;
		int parts = 1 + (int)((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 60);
		bool want, got;

		for (int k = 0; k < parts; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			/* Mostly good pieces, so that the runs get long. */
			size_t pi = (x >> 33) % 100 < 80 ? (x >> 40) % 7 : (x >> 40) % ARRAY_SIZE(pieces);
			size_t pl = strlen(pieces[pi]);

			if (n + pl > sizeof(t))
				break;
			memcpy(t + n, pieces[pi], pl);
			n += pl;
		}
		want = utf8_ref(t, n, &bad1);
		got = reg_utf8_valid((const char *)t, n, &bad2);
		assert_int_equal(got, want);
		if (!want)
			assert_int_equal(bad2, bad1);
	}
}

static void test_csv(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	const struct import_stats *s;
	char path[160];
	const char *csv = "\xEF\xBB\xBF職員番号,氏名,姓,所属,任用区分,役割,ゾーン,開始日,終了日,"
			  "研修受講日,誓約日,"
			  "household_id,備考\r\n"
			  "S0100,\"山田, \"\"たろう\"\"\",山田,D-KUMIN,会計年度任用職員,clerk; "
			  "dv_support_handler,"
			  "mynumber;lgwan,2024-04-01,,2025-05-01,2024-04-01,H5,\"複数\n行\"\r\n"
			  "S0101,鈴木 一郎,鈴木,D-CHUO,regular,,,2024-04-01,2025-03-31,,,,\r\n";

	valid_set(f);
	snprintf(path, sizeof(path), "%s/staff.csv", f->dir);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(csv, fp);
	fclose(fp);
	f->csv = path;
	if (do_import(f) != 0)
		dump(&f->d);
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->d.warnings, 1); /* 備考 */
	s = stat_of(f, "staff_csv");
	assert_non_null(s);
	assert_int_equal(s->lines, 2);
	assert_int_equal(s->inserted, 2);
	assert_int_equal(tcount(f, "staff"), 4);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->nstaff, 4);
	assert_string_equal(rd->staff[2].id, "S0100");
	assert_string_equal(rd->staff[2].name, "山田, \"たろう\"");
	assert_int_equal(rd->staff[2].employment, EMP_FISCAL_YEAR);
	assert_int_equal(rd->staff[2].roles.n, 2);
	assert_string_equal(rd->staff[2].roles.v[1], "dv_support_handler");
	assert_int_equal(rd->staff[2].zones.n, 2);
	assert_int_equal(rd->staff[2].end, DAY_NONE);
	assert_int_equal(rd->staff[2].training, days_from_civil(2025, 5, 1));
	assert_string_equal(rd->staff[2].household_id, "H5");
	assert_int_equal(rd->staff[3].roles.n, 0);
	assert_int_equal(rd->staff[3].end, days_from_civil(2025, 3, 31));
	registry_data_free(rd);
	/* Again: nothing changes. */
	assert_int_equal(do_import(f), 0);
	s = stat_of(f, "staff_csv");
	assert_int_equal(s->inserted + s->updated, 0);
	assert_int_equal(s->unchanged, 2);

	/* Errors name staff.csv and the record's first line. */
	fp = fopen(path, "wb");
	fputs("id,name,surname,dept,employment,roles,zones,start\n"
	      "S0200,\"a\nb\",x,D-CHUO,委託事業者,,,2024-04-01\n"
	      "S0201,x,x,D-CHUO,boss,,,2024-04-01\n"
	      "S0202,x,x,D-CHUO,regular,,,2024-4-1\n"
	      "S0001,x,x,D-CHUO,regular,,,2024-04-01\n"
	      "S0203,x,x\n",
	      fp);
	fclose(fp);
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_non_null(find(&f->d, "staff.csv", 4, "employment", "not one of"));
	assert_non_null(find(&f->d, "staff.csv", 5, "start", "not a date"));
	assert_non_null(find(&f->d, "staff.csv", 6, "id", "duplicate id 'S0001'"));
	assert_non_null(find(&f->d, "staff.csv", 7, NULL, "expected 8 fields"));
	assert_int_equal(f->d.errors, 4);
	assert_int_equal(tcount(f, "staff"), 4);

	/* A broken header. */
	fp = fopen(path, "wb");
	fputs("職員番号,氏名\n", fp);
	fclose(fp);
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_non_null(find(&f->d, "staff.csv", 1, "dept", "required column"));
	f->csv = NULL;
}

static void test_check_line(void **state)
{
	struct diag d;
	const char *ok = "{\"ts\":\"2026-04-01T09:15:02+09:00\",\"staff_id\":\"S1\","
			 "\"resident_id\":null,\"system\":\"juki\",\"action\":\"search\","
			 "\"zone\":\"mynumber\",\"query\":\"やまだ\"}";
	const char *bad = "{\"ts\":\"2026-04-01T09:15:02+09:00\",\"staff_id\":\"S1\","
			  "\"system\":\"juki\",\"action\":\"peek\",\"zone\":\"mynumber\","
			  "\"result\":\"maybe\"}";
	(void)state;
	diag_init(&d, 10);
	assert_int_equal(registry_check_line("access", ok, strlen(ok), &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(registry_check_line("access", bad, strlen(bad), &d), ERR_INVALID);
	assert_non_null(find(&d, "access.jsonl", 1, "action", "peek"));
	assert_non_null(find(&d, "access.jsonl", 1, "result", "maybe"));
	diag_release(&d);
	assert_int_equal(registry_check_line("staff", "{", 1, &d), ERR_INVALID);
	assert_non_null(find(&d, "staff.jsonl", 1, NULL, "invalid JSON"));
	diag_release(&d);
	assert_int_equal(registry_check_line("staff", "{\"id\":\"a\",\"id\":\"b\"}", 19, &d),
			 ERR_INVALID);
	diag_release(&d);
	assert_int_equal(registry_check_line("nope", "{}", 2, &d), ERR_INVALID);
	assert_int_equal(registry_check_line("overtime", "\"x\"", 3, &d), ERR_INVALID);
	assert_non_null(find(&d, "overtime.jsonl", 1, NULL, "JSON object"));
	diag_release(&d);
}

static void test_json_parser(void **state)
{
	static const struct {
		const char *line;
		bool ok;
		const char *msg;
	} cases[] = {
	    {"{\"ts\":\"2026-04-01T09:15:02Z\",\"staff_id\":\"S1\",\"system\":\"juki\","
	     "\"action\":\"view\",\"zone\":\"lgwan\",\"query\":\"\\u5c71\\u7530\\ud842\\udfb7\","
	     "\"x\":{\"a\":[1,-2.5e3,true,false,null,{}]},\"y\":[[],[\"s\"]]}",
	     true, NULL},
	    {"  {\"ts\":\"2026-04-01T09:15:02Z\",\"staff_id\":\"S1\",\"system\":\"juki\","
	     "\"action\":\"view\",\"zone\":\"lgwan\"}  \r",
	     true, NULL},
	    {"{\"ts\":\"x\",}", false, "invalid JSON"},
	    {"{\"query\":\"\\ud842\"}", false, "lone surrogate"},
	    {"{\"query\":\"\\u0000\"}", false, "NUL"},
	    {"{\"query\":\"a\tb\"}", false, "control character"},
	    {"{\"query\":\"\\x\"}", false, "invalid escape"},
	    {"{\"x\":01}", false, "invalid JSON"},
	    {"{\"x\":1.}", false, "invalid number"},
	    {"{\"x\":tru}", false, "invalid value"},
	    {"{\"x\":[1 2]}", false, "expected ',' or ']'"},
	    {"{\"x\":1} x", false, "extra characters"},
	    {"{\"query\":\"a\",\"query\":\"b\"}", false, "duplicate field"},
	    {"{\"x\":1,\"x\":2}", false, "duplicate field 'x'"},
	    {"{\"x\":\"abc", false, "unterminated string"},
	    {"[{}]", false, "JSON object"},
	    {"{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	     false, "nesting too deep"},
	};
	struct diag d;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		diag_init(&d, 10);
		int r = registry_check_line("access", cases[i].line, strlen(cases[i].line), &d);
		if (cases[i].ok) {
			if (r != 0)
				dump(&d);
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, ERR_INVALID);
			assert_true(d.n >= 1);
			if (!strstr(d.items[0].msg, cases[i].msg))
				fail_msg("case %zu: '%s' lacks '%s'", i, d.items[0].msg,
					 cases[i].msg);
		}
		diag_release(&d);
	}
}

static void test_escaped_text_roundtrip(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	valid_set(f);
	puts_file(f, "residents.jsonl",
		  "{\"id\":\"R1\",\"surname\":\"\\u4f50\\u85e4\",\"given\":\"\\\"\\u82b1\\/"
		  "\",\"birth\":\"1980-01-01\","
		  "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[\"a\\\"b\"]}\n"
		  "{\"id\":\"R2\",\"surname\":\"x\",\"given\":\"y\",\"birth\":\"1980-01-01\","
		  "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[]}\n");
	if (do_import(f) != 0)
		dump(&f->d);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_string_equal(rd->residents[0].surname, "佐藤");
	assert_string_equal(rd->residents[0].given, "\"花/");
	assert_int_equal(rd->residents[0].flags.n, 1);
	assert_string_equal(rd->residents[0].flags.v[0], "a\"b");
	registry_data_free(rd);
	/* The same data again is unchanged. */
	assert_int_equal(do_import(f), 0);
	assert_int_equal(stat_of(f, "residents")->unchanged, 2);
}

static void test_order_edges(void **state)
{
	static const struct {
		const char *kind, *line;
		int want;
	} cases[] = {
	    {"staff",
	     "{\"id\":\"S\",\"name\":\"n\",\"surname\":\"s\",\"dept\":\"D\",\"employment\":"
	     "\"temporary\",\"roles\":[],\"zones\":[],\"start\":\"2026-04-01\",\"end\":\"2026-04-"
	     "01\"}",
	     0},
	    {"staff",
	     "{\"id\":\"S\",\"name\":\"n\",\"surname\":\"s\",\"dept\":\"D\",\"employment\":"
	     "\"temporary\",\"roles\":[],\"zones\":[],\"start\":\"2026-04-01\",\"end\":\"2026-03-"
	     "31\"}",
	     ERR_INVALID},
	    {"cases",
	     "{\"id\":\"C\",\"resident_id\":\"R\",\"dept\":\"D\",\"kind\":\"k\",\"opened\":"
	     "\"2026-04-01T09:00:00+09:00\",\"closed\":\"2026-04-01T00:00:00Z\"}",
	     0},
	    {"cases",
	     "{\"id\":\"C\",\"resident_id\":\"R\",\"dept\":\"D\",\"kind\":\"k\",\"opened\":"
	     "\"2026-04-01T09:00:00+09:00\",\"closed\":\"2026-03-31T23:59:59Z\"}",
	     ERR_INVALID},
	    {"overtime",
	     "{\"staff_id\":\"S\",\"start\":\"2026-04-01T18:00:00+09:00\",\"end\":"
	     "\"2026-04-01T18:00:00+09:00\"}",
	     0},
	    {"overtime",
	     "{\"staff_id\":\"S\",\"start\":\"2026-04-01T18:00:00+09:00\",\"end\":"
	     "\"2026-04-01T17:59:59+09:00\"}",
	     ERR_INVALID},
	};
	struct diag d;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		diag_init(&d, 10);
		if (registry_check_line(cases[i].kind, cases[i].line, strlen(cases[i].line), &d) !=
		    cases[i].want) {
			dump(&d);
			fail_msg("case %zu", i);
		}
		diag_release(&d);
	}
}

static void test_employment_names(void **state)
{
	enum employment e;
	(void)state;
	assert_string_equal(employment_name(EMP_FISCAL_YEAR), "fiscal_year");
	assert_null(employment_name(EMP__COUNT));
	assert_int_equal(employment_parse("temporary", &e), 0);
	assert_int_equal(e, EMP_TEMPORARY);
	assert_int_equal(employment_parse("Temporary", &e), ERR_INVALID);
}

static void test_empty_datadir(void **state)
{
	struct fx *f = *state;
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_int_equal(f->d.errors, 1);
	assert_int_equal(ledger_size(f->lg), f->lg0);
}


/* ---- the registry image (src/registry/image.c) ---- */

static void assert_list_equal(struct strlist a, struct strlist b)
{
	assert_int_equal(a.n, b.n);
	for (uint32_t i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], b.v[i]);
}

static void assert_str_same(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Every field of every record. */
static void assert_reg_equal(const struct registry_data *a, const struct registry_data *b)
{
	assert_int_equal(a->nsystems, b->nsystems);
	for (size_t i = 0; i < a->nsystems; i++) {
		const struct reg_system *x = &a->systems[i], *y = &b->systems[i];
		assert_str_same(x->id, y->id);
		assert_str_same(x->name, y->name);
		assert_str_same(x->zone, y->zone);
		assert_str_same(x->confidentiality, y->confidentiality);
		assert_str_same(x->integrity, y->integrity);
		assert_str_same(x->availability, y->availability);
		assert_int_equal(x->need_to_know, y->need_to_know);
	}
	assert_int_equal(a->ndepartments, b->ndepartments);
	for (size_t i = 0; i < a->ndepartments; i++) {
		const struct reg_department *x = &a->departments[i], *y = &b->departments[i];
		assert_str_same(x->id, y->id);
		assert_str_same(x->name, y->name);
		assert_str_same(x->parent, y->parent);
		assert_list_equal(x->systems, y->systems);
	}
	assert_int_equal(a->nstaff, b->nstaff);
	for (size_t i = 0; i < a->nstaff; i++) {
		const struct reg_staff *x = &a->staff[i], *y = &b->staff[i];
		assert_str_same(x->id, y->id);
		assert_str_same(x->name, y->name);
		assert_str_same(x->surname, y->surname);
		assert_str_same(x->dept, y->dept);
		assert_int_equal(x->employment, y->employment);
		assert_list_equal(x->roles, y->roles);
		assert_list_equal(x->zones, y->zones);
		assert_int_equal(x->start, y->start);
		assert_int_equal(x->end, y->end);
		assert_int_equal(x->training, y->training);
		assert_int_equal(x->pledge, y->pledge);
		assert_str_same(x->address_id, y->address_id);
		assert_str_same(x->household_id, y->household_id);
		assert_str_same(x->contractor, y->contractor);
	}
	assert_int_equal(a->nresidents, b->nresidents);
	for (size_t i = 0; i < a->nresidents; i++) {
		const struct reg_resident *x = &a->residents[i], *y = &b->residents[i];
		assert_str_same(x->id, y->id);
		assert_str_same(x->surname, y->surname);
		assert_str_same(x->given, y->given);
		assert_int_equal(x->birth, y->birth);
		assert_str_same(x->address_id, y->address_id);
		assert_str_same(x->household_id, y->household_id);
		assert_list_equal(x->flags, y->flags);
	}
	assert_int_equal(a->ncases, b->ncases);
	for (size_t i = 0; i < a->ncases; i++) {
		const struct reg_case *x = &a->cases[i], *y = &b->cases[i];
		assert_str_same(x->id, y->id);
		assert_str_same(x->resident_id, y->resident_id);
		assert_str_same(x->dept, y->dept);
		assert_str_same(x->kind, y->kind);
		assert_str_same(x->assigned_to, y->assigned_to);
		assert_true(x->opened == y->opened && x->closed == y->closed);
	}
	assert_int_equal(a->novertime, b->novertime);
	for (size_t i = 0; i < a->novertime; i++) {
		assert_str_same(a->overtime[i].staff_id, b->overtime[i].staff_id);
		assert_true(a->overtime[i].start == b->overtime[i].start &&
			    a->overtime[i].end == b->overtime[i].end);
	}
}

static void image_path(struct fx *f, char *out, size_t cap)
{
	snprintf(out, cap, "%s/t.db-registry", f->dir);
}

static struct registry_data *load(struct fx *f)
{
	struct registry_data *rd = NULL;
	assert_int_equal(registry_load(f->st, &rd), 0);
	return rd;
}

/* A change made behind mamori's back: the stamp stays. */
static void hand_edit(struct fx *f)
{
	assert_int_equal(store_exec(f->st, "UPDATE residents SET surname = '鈴木' WHERE id = 'R1'"),
			 0);
}

static const char *surname_r1(const struct registry_data *rd)
{
	for (size_t i = 0; i < rd->nresidents; i++)
		if (strcmp(rd->residents[i].id, "R1") == 0)
			return rd->residents[i].surname;
	return NULL;
}

/*
 * The first load after an import writes the image (mode 0600); the next
 * reads it and gives the same registry. That it reads the image and not
 * the tables shows in a change made without a new stamp: the image still
 * gives the old value, until the stamp is renewed.
 */
static void test_image_written_and_read(void **state)
{
	struct fx *f = *state;
	struct registry_data *a, *b, *c;
	char path[192];
	struct stat sb;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	image_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), -1);
	a = load(f);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	b = load(f);
	assert_reg_equal(a, b);
	assert_int_equal(b->nblocks, 1);

	hand_edit(f);
	c = load(f);
	assert_string_equal(surname_r1(c), "佐藤");
	registry_data_free(c);
	assert_int_equal(registry_stamp_renew(f->st), 0);
	c = load(f);
	assert_string_equal(surname_r1(c), "鈴木");
	registry_data_free(c);
	/* Removing the image is the other way to take a hand edit in. */
	assert_int_equal(store_exec(f->st, "UPDATE residents SET surname = '田中' WHERE id = 'R1'"),
			 0);
	assert_int_equal(unlink(path), 0);
	c = load(f);
	assert_string_equal(surname_r1(c), "田中");
	registry_data_free(c);
	registry_data_free(a);
	registry_data_free(b);
}

/* An import and a change of staff dates each renew the stamp in their own
 * transaction: the next load sees them. An import that fails validation
 * writes nothing and keeps the stamp. */
static void test_image_follows_changes(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd;
	uint8_t t0[REG_STAMP_LEN], t1[REG_STAMP_LEN];
	struct reg_date_update u = {"S0002", days_from_civil(2026, 5, 1), DAY_NONE};
	size_t changed = 0;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	registry_data_free(load(f));
	puts_file(f, "residents.jsonl",
		  "{\"id\":\"R1\",\"surname\":\"佐藤\",\"given\":\"花江\",\"birth\":\"1980-01-01\","
		  "\"address_id\":\"A1\",\"household_id\":\"H1\",\"flags\":[]}\n");
	assert_int_equal(do_import(f), 0);
	rd = load(f);
	assert_string_equal(rd->residents[0].given, "花江");
	assert_int_equal(rd->residents[0].flags.n, 0);
	registry_data_free(rd);

	assert_int_equal(reg_stamp_get(f->st, t0), 1);
	puts_file(f, "residents.jsonl", "{\"id\":\"R1\"}\n");
	assert_int_equal(do_import(f), ERR_INVALID);
	assert_int_equal(reg_stamp_get(f->st, t1), 1);
	assert_memory_equal(t0, t1, REG_STAMP_LEN);

	assert_int_equal(registry_staff_set_dates(f->st, f->lg, "test", "unit", &u, 1, &f->d,
						  &changed),
			 0);
	assert_int_equal(changed, 1);
	assert_int_equal(reg_stamp_get(f->st, t1), 1);
	assert_memory_not_equal(t0, t1, REG_STAMP_LEN);
	rd = load(f);
	assert_int_equal(rd->staff[1].training, days_from_civil(2026, 5, 1));
	registry_data_free(rd);
}

static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat sb;
	unsigned char *p;
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &sb), 0);
	*n = (size_t)sb.st_size;
	p = xmalloc(*n ? *n : 1);
	assert_int_equal(fread(p, 1, *n, fp), *n);
	fclose(fp);
	return p;
}

static void spill(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * A damaged image (a byte changed anywhere, cut short, grown) is not read:
 * the load gives what the tables hold. Then the same damage with the
 * checksum made right again, so that the checks on the header and on
 * every offset must refuse it: the load never reads outside the image
 * (AddressSanitizer watches) and, when the change fell on a string's
 * bytes, gives a registry whose strings all end inside it.
 */
static void test_image_damaged(void **state)
{
	struct fx *f = *state;
	struct registry_data *ref, *rd;
	char path[192];
	unsigned char *img, *m;
	size_t n;
	uint64_t seed = 0x2545F4914F6CDD1DULL;
	int refused = 0, taken = 0;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	ref = load(f);
	image_path(f, path, sizeof(path));
	img = slurp(path, &n);
	m = xmalloc(n + 64);
	for (int round = 0; round < 600; round++) {
		size_t len = n;
		bool reseal = round >= 300;
		memcpy(m, img, n);
		switch (xs(&seed) % 4) {
		case 0:
		case 1:
			m[xs(&seed) % n] ^= (unsigned char)(1 + xs(&seed) % 255);
			break;
		case 2:
			len = xs(&seed) % n;
			break;
		default:
			memset(m + n, 0, 64);
			len = n + 1 + xs(&seed) % 64;
			break;
		}
		if (reseal)
			reg_image_seal(m, len);
		spill(path, m, len);
		rd = load(f);
		if (!reseal) {
			assert_reg_equal(ref, rd);
		} else {
			/* Required strings are there and end inside the image. */
			size_t total = 0;
			for (size_t i = 0; i < rd->nresidents; i++)
				total += strlen(rd->residents[i].id) + strlen(rd->residents[i].surname) +
					 strlen(rd->residents[i].household_id);
			for (size_t i = 0; i < rd->ncases; i++)
				total += strlen(rd->cases[i].id) + strlen(rd->cases[i].resident_id) +
					 strlen(rd->cases[i].dept);
			for (size_t i = 0; i < rd->nstaff; i++)
				for (uint32_t k = 0; k < rd->staff[i].roles.n; k++)
					total += strlen(rd->staff[i].roles.v[k]);
			for (size_t i = 0; i < rd->ndepartments; i++)
				for (uint32_t k = 0; k < rd->departments[i].systems.n; k++)
					total += strlen(rd->departments[i].systems.v[k]);
			assert_true(total > 0);
		}
		registry_data_free(rd);
		if (reseal) {
			/* A refused image was replaced by the one the tables
			 * give, which is the first one again. */
			size_t k;
			unsigned char *now = slurp(path, &k);
			if (k == n && memcmp(now, img, n) == 0)
				refused++;
			else
				taken++;
			free(now);
		}
	}
	/* Both kinds of resealed change came up: some fell on strings and
	 * were taken, the others were refused by the checks. */
	assert_true(refused > 50);
	assert_true(taken > 10);
	/* A refused image is replaced by a good one: damage it once more,
	 * load (from the tables), and the next load reads the new image. */
	memcpy(m, img, n);
	m[n - 1] ^= 1;
	spill(path, m, n);
	rd = load(f);
	assert_reg_equal(ref, rd);
	registry_data_free(rd);
	rd = load(f);
	assert_reg_equal(ref, rd);
	assert_int_equal(rd->nblocks, 1);
	registry_data_free(rd);
	free(m);
	free(img);
	registry_data_free(ref);
}

/* The people alone (the ISMS pages): systems, departments and staff as a
 * whole load gives them, nothing of residents, cases and overtime. */
static void test_load_people(void **state)
{
	struct fx *f = *state;
	struct registry_data *all, *p = NULL, view;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	all = load(f);
	assert_true(all->nresidents > 0 && all->ncases > 0 && all->novertime > 0);
	assert_int_equal(registry_load_people(f->st, &p), 0);
	assert_int_equal(p->nresidents, 0);
	assert_int_equal(p->ncases, 0);
	assert_int_equal(p->novertime, 0);
	view = *all;
	view.nresidents = view.ncases = view.novertime = 0;
	assert_reg_equal(&view, p);
	registry_data_free(p);
	registry_data_free(all);
}

/* One member of staff and one resident (a disclosure's check): the same
 * records as a whole load's, and nothing for an id the registry lacks. */
static void test_load_pair(void **state)
{
	struct fx *f = *state;
	struct registry_data *all, *p = NULL, view;

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	all = load(f);
	assert_int_equal(registry_load_pair(f->st, "S0001", "R1", &p), 0);
	memset(&view, 0, sizeof(view));
	view.staff = &all->staff[0];
	view.nstaff = 1;
	view.residents = &all->residents[0];
	view.nresidents = 1;
	assert_string_equal(view.residents[0].id, "R1");
	assert_reg_equal(&view, p);
	registry_data_free(p);
	assert_int_equal(registry_load_pair(f->st, "S9999", "R404", &p), 0);
	assert_int_equal(p->nstaff, 0);
	assert_int_equal(p->nresidents, 0);
	registry_data_free(p);
	registry_data_free(all);
}

/* An image others may write, or a link, is not read. */
static void test_image_not_ours(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd;
	char path[192], other[224];

	valid_set(f);
	assert_int_equal(do_import(f), 0);
	registry_data_free(load(f));
	image_path(f, path, sizeof(path));
	hand_edit(f);
	assert_int_equal(chmod(path, 0666), 0);
	rd = load(f);
	assert_string_equal(surname_r1(rd), "鈴木"); /* from the tables */
	registry_data_free(rd);
	/* That load wrote a good image again (0600), of the edited tables. */
	snprintf(other, sizeof(other), "%s.elsewhere", path);
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(store_exec(f->st, "UPDATE residents SET surname = '田中' WHERE id = 'R1'"),
			 0);
	rd = load(f);
	assert_string_equal(surname_r1(rd), "田中");
	registry_data_free(rd);
}

#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T_(test_valid_and_again),
	    T_(test_load_roundtrip),
	    T_(test_bad_fields),
	    T_(test_unknown_field_warns_once),
	    T_(test_refs_to_store),
	    T_(test_syntax_utf8_long_lines),
	    T_(test_all_problems_of_a_record),
	    T_(test_csv),
	    cmocka_unit_test(test_check_line),
	    cmocka_unit_test(test_utf8_fast_paths),
	    cmocka_unit_test(test_employment_names),
	    cmocka_unit_test(test_json_parser),
	    cmocka_unit_test(test_order_edges),
	    T_(test_escaped_text_roundtrip),
	    T_(test_empty_datadir),
	    T_(test_image_written_and_read),
	    T_(test_image_follows_changes),
	    T_(test_image_damaged),
	    T_(test_image_not_ours),
	    T_(test_load_people),
	    T_(test_load_pair),
	};
	i18n_set_thread(LANG_EN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/gen: determinism, formats, consistency, labels, hard negatives. */
#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "gen/gen.h"
#include "registry/registry.h"
#include "store/store.h"

static char root[256];

static void dir_path(char *out, size_t n, const char *sub)
{
	snprintf(out, n, "%s/%s", root, sub);
}

static int run(const char *sub, uint64_t seed, struct gen_stats *st)
{
	char p[512];
	struct gen_opts o = {0};
	struct diag d;
	int r;
	dir_path(p, sizeof(p), sub);
	o.scale = GEN_S;
	o.seed = seed;
	o.outdir = p;
	o.residents = 800;
	o.staff = 30;
	o.events = 9000;
	diag_init(&d, 10);
	r = gen_run(&o, st, &d);
	if (r < 0)
		diag_print(&d, stderr);
	diag_release(&d);
	return r;
}

static char *slurp(const char *sub, const char *file, size_t *len)
{
	char p[512];
	FILE *f;
	char *data;
	long n;
	snprintf(p, sizeof(p), "%s/%s/%s", root, sub, file);
	f = fopen(p, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Each line of a file as a JSON object, in an array. */
static json_t *load(const char *sub, const char *file)
{
	size_t len;
	char *data = slurp(sub, file, &len), *p = data;
	json_t *arr = json_array();
	while (*p) {
		char *nl = strchr(p, '\n');
		json_error_t e;
		assert_non_null(nl); /* the generator ends every line */
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
		if (!o)
			fail_msg("%s: %s: %s", file, e.text, p);
		assert_true(json_is_object(o));
		json_array_append_new(arr, o);
		p = nl + 1;
	}
	free(data);
	return arr;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		fail_msg("field '%s' missing or not a string", k);
	return json_string_value(v);
}

static bool has_key(json_t *set, const char *a, const char *b)
{
	char k[256];
	snprintf(k, sizeof(k), "%s|%s", a, b);
	return json_object_get(set, k) != NULL;
}

static void put_key(json_t *set, const char *a, const char *b)
{
	char k[256];
	snprintf(k, sizeof(k), "%s|%s", a, b);
	json_object_set_new(set, k, json_true());
}

static int64_t ts_of(json_t *o, const char *k)
{
	const char *s = str(o, k);
	int64_t t;
	assert_int_equal(ts_parse(s, strlen(s), &t, NULL), 0);
	return t;
}

static int32_t date_of(json_t *o, const char *k)
{
	const char *s = str(o, k);
	int32_t d;
	assert_int_equal(date_parse(s, strlen(s), &d), 0);
	return d;
}

static struct gen_stats st_a;

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/mamori-test-gen-%ld", (long)getpid());
	if (mkdir(root, 0755) != 0)
		return -1;
	return run("a", 7, &st_a);
}

static int teardown(void **state)
{
	const char *subs[] = {"a", "b", "c"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		char p[512];
		DIR *dd;
		struct dirent *de;
		dir_path(p, sizeof(p), subs[i]);
		dd = opendir(p);
		if (!dd)
			continue;
		while ((de = readdir(dd))) {
			char f[1024];
			if (de->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
			unlink(f);
		}
		closedir(dd);
		rmdir(p);
	}
	rmdir(root);
	return 0;
}

static const char *files[] = {"systems.jsonl",  "departments.jsonl", "staff.jsonl",
			      "residents.jsonl", "cases.jsonl",      "overtime.jsonl",
			      "access.jsonl",    "labels.jsonl"};

static void test_determinism(void **state)
{
	struct gen_stats st_b, st_c;
	(void)state;
	assert_int_equal(run("b", 7, &st_b), 0);
	assert_int_equal(run("c", 8, &st_c), 0);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t la, lb;
		char *a = slurp("a", files[i], &la), *b = slurp("b", files[i], &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		free(a);
		free(b);
	}
	assert_int_equal(st_a.events, st_b.events);
	/* Another seed, another municipality. */
	const char *differ[] = {"residents.jsonl", "staff.jsonl", "access.jsonl", "cases.jsonl"};
	for (size_t i = 0; i < ARRAY_SIZE(differ); i++) {
		size_t la, lc;
		char *a = slurp("a", differ[i], &la), *c = slurp("c", differ[i], &lc);
		assert_true(la != lc || memcmp(a, c, la) != 0);
		free(a);
		free(c);
	}
}

static void test_no_temp_files(void **state)
{
	char p[512];
	DIR *dd;
	struct dirent *de;
	size_t n = 0;
	(void)state;
	dir_path(p, sizeof(p), "a");
	dd = opendir(p);
	assert_non_null(dd);
	while ((de = readdir(dd))) {
		if (de->d_name[0] == '.')
			continue;
		assert_null(strstr(de->d_name, ".tmp"));
		n++;
	}
	closedir(dd);
	assert_int_equal(n, ARRAY_SIZE(files));
}

static void test_formats_and_references(void **state)
{
	json_t *sys = load("a", "systems.jsonl"), *dep = load("a", "departments.jsonl");
	json_t *stf = load("a", "staff.jsonl"), *res = load("a", "residents.jsonl");
	json_t *cas = load("a", "cases.jsonl"), *ot = load("a", "overtime.jsonl");
	json_t *acc = load("a", "access.jsonl"), *lab = load("a", "labels.jsonl");
	json_t *sysid = json_object(), *depid = json_object(), *stfid = json_object(),
	       *resid = json_object(), *refs = json_object(), *caseid = json_object();
	size_t i;
	json_t *o;
	(void)state;

	assert_int_equal(json_array_size(sys), st_a.systems);
	assert_int_equal(json_array_size(dep), st_a.departments);
	assert_int_equal(json_array_size(stf), st_a.staff);
	assert_int_equal(json_array_size(stf), 30);
	assert_int_equal(json_array_size(res), 800);
	assert_int_equal(json_array_size(cas), st_a.cases);
	assert_int_equal(json_array_size(ot), st_a.overtime);
	assert_int_equal(json_array_size(acc), st_a.events);
	assert_int_equal(json_array_size(lab), st_a.labels);
	/* Events near the asked-for number. */
	assert_true(st_a.events > 9000 * 6 / 10 && st_a.events < 9000 * 14 / 10);

	json_array_foreach(sys, i, o)
	{
		const char *z = str(o, "zone");
		assert_true(!strcmp(z, "mynumber") || !strcmp(z, "lgwan"));
		str(o, "name");
		str(o, "confidentiality");
		assert_string_equal(str(o, "need_to_know"), "monitor");
		json_object_set_new(sysid, str(o, "id"), json_string(z));
	}
	assert_non_null(json_object_get(sysid, "juki"));
	assert_string_equal(json_string_value(json_object_get(sysid, "docs")), "lgwan");
	json_array_foreach(dep, i, o)
	{
		json_object_set_new(depid, str(o, "id"), json_deep_copy(json_object_get(o, "systems")));
		str(o, "name");
		assert_true(json_is_array(json_object_get(o, "systems")));
	}
	json_array_foreach(dep, i, o)
	{
		json_t *p = json_object_get(o, "parent");
		if (json_is_string(p))
			assert_non_null(json_object_get(depid, json_string_value(p)));
		json_t *s;
		size_t k;
		json_array_foreach(json_object_get(o, "systems"), k, s)
			assert_non_null(json_object_get(sysid, json_string_value(s)));
	}
	size_t emp[4] = {0};
	json_array_foreach(stf, i, o)
	{
		const char *e = str(o, "employment");
		assert_non_null(json_object_get(depid, str(o, "dept")));
		assert_true(strchr(str(o, "name"), ' ') != NULL);
		assert_true(strncmp(str(o, "name"), str(o, "surname"), strlen(str(o, "surname"))) == 0);
		date_of(o, "start");
		date_of(o, "training");
		assert_true(date_of(o, "pledge") >= date_of(o, "start"));
		if (json_is_string(json_object_get(o, "end")))
			assert_true(date_of(o, "end") >= date_of(o, "start"));
		assert_true(json_array_size(json_object_get(o, "roles")) >= 1);
		assert_true(json_array_size(json_object_get(o, "zones")) >= 1);
		if (!strcmp(e, "regular"))
			emp[0]++;
		else if (!strcmp(e, "fiscal_year"))
			emp[1]++;
		else if (!strcmp(e, "temporary"))
			emp[2]++;
		else {
			assert_string_equal(e, "contractor");
			str(o, "contractor");
			emp[3]++;
		}
		json_object_set_new(stfid, str(o, "id"), json_deep_copy(o));
	}
	assert_true(emp[0] > emp[1] && emp[0] > emp[3]);
	size_t dv = 0, vip = 0, staffflag = 0;
	json_array_foreach(res, i, o)
	{
		json_t *f;
		size_t k;
		str(o, "surname");
		str(o, "given");
		str(o, "address_id");
		str(o, "household_id");
		date_of(o, "birth");
		json_array_foreach(json_object_get(o, "flags"), k, f)
		{
			const char *s = json_string_value(f);
			dv += !strcmp(s, "dv_support");
			vip += !strcmp(s, "vip");
			staffflag += !strcmp(s, "staff");
		}
		json_object_set_new(resid, str(o, "id"), json_deep_copy(o));
	}
	assert_true(dv >= 1 && vip >= 1 && staffflag >= 2);
	json_t *casekey = json_object();   /* dept|resident with a case */
	json_t *hhkey = json_object();     /* dept|household with a case */
	json_t *surkey = json_object();    /* dept|surname with a case */
	json_array_foreach(cas, i, o)
	{
		json_t *r = json_object_get(resid, str(o, "resident_id"));
		assert_non_null(r);
		assert_non_null(json_object_get(depid, str(o, "dept")));
		json_t *a = json_object_get(o, "assigned_to");
		if (json_is_string(a))
			assert_non_null(json_object_get(stfid, json_string_value(a)));
		int64_t op = ts_of(o, "opened");
		if (json_is_string(json_object_get(o, "closed")))
			assert_true(ts_of(o, "closed") >= op);
		str(o, "kind");
		assert_null(json_object_get(caseid, str(o, "id")));
		json_object_set_new(caseid, str(o, "id"), json_true());
		put_key(casekey, str(o, "dept"), str(o, "resident_id"));
		put_key(hhkey, str(o, "dept"), str(r, "household_id"));
		put_key(surkey, str(o, "dept"), str(r, "surname"));
	}
	json_array_foreach(ot, i, o)
	{
		assert_non_null(json_object_get(stfid, str(o, "staff_id")));
		assert_true(ts_of(o, "end") > ts_of(o, "start"));
	}
	json_t *labelled = json_object();
	size_t kinds[GEN_L_COUNT] = {0};
	json_array_foreach(lab, i, o)
	{
		const char *k = str(o, "kind");
		int found = 0;
		for (int j = 1; j < GEN_L_COUNT; j++)
			if (!strcmp(k, gen_label_name(j))) {
				kinds[j]++;
				found = j;
			}
		assert_true(found > 0);
		assert_null(json_object_get(labelled, str(o, "ref"))); /* one label per event */
		json_object_set_new(labelled, str(o, "ref"), json_string(k));
	}
	for (int j = 1; j < GEN_L_COUNT; j++) {
		assert_true(kinds[j] >= 20);
		assert_int_equal(kinds[j], st_a.label_kind[j]);
	}
	assert_null(gen_label_name(0));
	assert_null(gen_label_name(GEN_L_COUNT));

	int64_t prev = INT64_MIN;
	size_t legit_outside = 0, unexplained_ok = 0;
	json_array_foreach(acc, i, o)
	{
		const char *sid = str(o, "staff_id"), *ref = str(o, "ref"), *sy = str(o, "system");
		const char *act = str(o, "action");
		json_t *s = json_object_get(stfid, sid), *r = json_object_get(o, "resident_id");
		int64_t t = ts_of(o, "ts");
		assert_non_null(s);
		assert_non_null(json_object_get(sysid, sy));
		assert_string_equal(str(o, "zone"), json_string_value(json_object_get(sysid, sy)));
		assert_string_equal(str(o, "result"), "ok");
		str(o, "terminal");
		assert_true(t >= prev);
		prev = t;
		assert_null(json_object_get(refs, ref));
		json_object_set_new(refs, ref, json_true());
		if (!strcmp(act, "search")) {
			assert_true(json_is_null(r));
			str(o, "query");
		} else {
			assert_true(!strcmp(act, "view") || !strcmp(act, "update") || !strcmp(act, "print") ||
				    !strcmp(act, "export"));
			assert_true(json_is_string(r));
		}
		json_t *rr = json_is_string(r) ? json_object_get(resid, json_string_value(r)) : NULL;
		if (json_is_string(r))
			assert_non_null(rr);
		json_t *c = json_object_get(o, "case_id");
		if (json_is_string(c))
			assert_non_null(json_object_get(caseid, json_string_value(c)));
		/* The system is one of the department's systems. */
		json_t *dsys = json_object_get(depid, str(s, "dept")), *x;
		size_t k;
		bool in = false;
		json_array_foreach(dsys, k, x) in |= !strcmp(json_string_value(x), sy);
		assert_true(in);
		json_t *lk = json_object_get(labelled, ref);
		const char *dept = str(s, "dept");
		if (!lk) {
			/* Legitimate: office hours on an open day, or approved overtime. */
			int32_t day = ts_jst_day(t);
			int sec = ts_jst_second_of_day(t);
			bool office = !jp_office_closed(day) && sec >= 8 * 3600 + 45 * 60 &&
				      sec < 17 * 3600 + 30 * 60;
			if (!office) {
				bool ot_ok = false;
				json_t *w;
				size_t m;
				json_array_foreach(ot, m, w) if (!strcmp(str(w, "staff_id"), sid) &&
								 t >= ts_of(w, "start") && t <= ts_of(w, "end"))
					ot_ok = true;
				assert_true(ot_ok);
				legit_outside++;
			}
			/* Explained: a case of the department for this resident, its
			 * household (certificate) or a namesake (name search). */
			if (rr)
				assert_true(has_key(casekey, dept, json_string_value(r)) ||
					    has_key(hhkey, dept, str(rr, "household_id")) ||
					    has_key(surkey, dept, str(rr, "surname")));
			int32_t day2 = ts_jst_day(t);
			assert_true(day2 >= date_of(s, "start"));
			if (json_is_string(json_object_get(s, "end")))
				assert_true(day2 <= date_of(s, "end"));
		} else {
			const char *kind = json_string_value(lk);
			if (!strcmp(kind, "unexplained") || !strcmp(kind, "vip") ||
			    !strcmp(kind, "relative") || !strcmp(kind, "neighbour") ||
			    !strcmp(kind, "dv_support")) {
				/* No case for this record in the department, ever. */
				assert_false(has_key(casekey, dept, json_string_value(r)) &&
					     strcmp(kind, "dv_support") != 0);
				unexplained_ok++;
			}
			if (!strcmp(kind, "relative"))
				assert_string_equal(str(rr, "household_id"), str(s, "household_id"));
			if (!strcmp(kind, "neighbour")) {
				assert_string_equal(str(rr, "address_id"), str(s, "address_id"));
				assert_string_not_equal(str(rr, "surname"), str(s, "surname"));
			}
			if (!strcmp(kind, "vip") || !strcmp(kind, "dv_support")) {
				json_t *f = json_array_get(json_object_get(rr, "flags"), 0);
				assert_non_null(f);
			}
			if (!strcmp(kind, "after_end"))
				assert_true(ts_jst_day(t) > date_of(s, "end"));
			if (!strcmp(kind, "untrained"))
				assert_true(date_of(s, "training") < ts_jst_day(t) - 365);
			if (!strcmp(kind, "export"))
				assert_string_equal(act, "export");
		}
	}
	assert_true(legit_outside > 0);
	assert_true(unexplained_ok >= 100);
	json_array_foreach(lab, i, o) assert_non_null(json_object_get(refs, str(o, "ref")));
	for (int h = 0; h < GEN_H_COUNT; h++)
		assert_true(st_a.hard[h] > 0);

	json_decref(casekey);
	json_decref(hhkey);
	json_decref(surkey);
	json_decref(labelled);
	json_decref(sys);
	json_decref(dep);
	json_decref(stf);
	json_decref(res);
	json_decref(cas);
	json_decref(ot);
	json_decref(acc);
	json_decref(lab);
	json_decref(sysid);
	json_decref(depid);
	json_decref(stfid);
	json_decref(resid);
	json_decref(refs);
	json_decref(caseid);
}

static void test_bad_options(void **state)
{
	struct gen_opts o = {0};
	struct gen_stats st;
	struct diag d;
	enum gen_scale sc;
	char p[512];
	(void)state;
	assert_int_equal(gen_scale_parse("M", &sc), 0);
	assert_int_equal(sc, GEN_M);
	assert_int_equal(gen_scale_parse("L", &sc), 0);
	assert_int_equal(sc, GEN_L);
	assert_int_equal(gen_scale_parse("XL", &sc), ERR_INVALID);
	assert_int_equal(gen_scale_parse("", &sc), ERR_INVALID);
	assert_int_equal(gen_scale_parse(NULL, &sc), ERR_INVALID);

	diag_init(&d, 10);
	assert_int_equal(gen_run(&o, &st, &d), ERR_INVALID); /* no outdir */
	dir_path(p, sizeof(p), "bad");
	o.outdir = p;
	o.staff = 5;
	assert_int_equal(gen_run(&o, &st, &d), ERR_INVALID);
	o.staff = 20;
	o.residents = 100;
	assert_int_equal(gen_run(&o, &st, &d), ERR_INVALID);
	o.residents = 600;
	o.events = 10;
	assert_int_equal(gen_run(&o, &st, &d), ERR_INVALID);
	o.events = 0;
	o.scale = (enum gen_scale)7;
	assert_int_equal(gen_run(&o, &st, &d), ERR_INVALID);
	assert_true(diag_has_errors(&d));
	/* Nothing was created for a refused run. */
	assert_int_equal(access(p, F_OK), -1);
	/* An output folder that cannot be created. */
	o.scale = GEN_S;
	o.residents = 600;
	o.staff = 20;
	o.events = 2000;
	o.outdir = "/proc/mamori-no/such";
	assert_int_equal(gen_run(&o, &st, &d), ERR_IO);
	diag_release(&d);
}

static void test_minimum_run(void **state)
{
	/* The smallest accepted run still has every label kind. */
	struct gen_opts o = {0};
	struct gen_stats st;
	struct diag d;
	char p[512];
	(void)state;
	dir_path(p, sizeof(p), "c");
	o.outdir = p;
	o.residents = 500;
	o.staff = 20;
	o.events = 1000;
	o.seed = 3;
	o.progress = true; /* the progress line goes to stderr */
	diag_init(&d, 10);
	assert_int_equal(gen_run(&o, &st, &d), 0);
	diag_release(&d);
	for (int j = 1; j < GEN_L_COUNT; j++)
		assert_true(st.label_kind[j] > 0);
	assert_true(st.events >= 500);
}

/* A city large enough for bureaus and wards (M and L scale have them)
 * must itself pass import validation: unique ids, every reference. */
static void test_large_org_imports(void **state)
{
	struct gen_opts o = {0};
	struct gen_stats st;
	struct import_opts io = {0};
	struct import_stats stats[8];
	size_t nstats = 0;
	struct store *db = NULL;
	struct diag d;
	char p[512], dbp[600], err[256];
	(void)state;
	dir_path(p, sizeof(p), "big");
	o.outdir = p;
	o.residents = 1600;
	o.staff = 800;
	o.events = 1000;
	o.seed = 5;
	diag_init(&d, 10);
	assert_int_equal(gen_run(&o, &st, &d), 0);
	assert_true(st.departments > 10);
	snprintf(dbp, sizeof(dbp), "%s/check.db", p);
	assert_int_equal(store_open(dbp, true, &db, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(db), 0);
	io.datadir = p;
	io.actor = "test";
	if (registry_import(db, NULL, &io, &d, stats, &nstats) < 0) {
		diag_print(&d, stderr);
		fail_msg("generated data does not import");
	}
	store_close(db);
	unlink(dbp);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_no_temp_files),
		cmocka_unit_test(test_formats_and_references),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_minimum_run),
		cmocka_unit_test(test_large_org_imports),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

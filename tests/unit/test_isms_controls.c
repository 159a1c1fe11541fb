/* Unit tests for the control library (src/isms/controls.h) and the
 * Statement of Applicability (src/isms/soa.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "isms_people_fx.h"
#include "isms/controls.h"

static void test_counts_per_theme(void **state)
{
	size_t n[9] = {0};
	(void)state;
	assert_int_equal(annex_ncontrols, ANNEX_CONTROLS);
	assert_int_equal(annex_ncontrols, 93);
	for (size_t i = 0; i < annex_ncontrols; i++) {
		assert_true(annex_controls[i].theme >= 5 && annex_controls[i].theme <= 8);
		n[annex_controls[i].theme]++;
	}
	assert_int_equal(n[ANNEX_ORGANIZATIONAL], 37);
	assert_int_equal(n[ANNEX_PEOPLE], 8);
	assert_int_equal(n[ANNEX_PHYSICAL], 14);
	assert_int_equal(n[ANNEX_TECHNOLOGICAL], 34);
}

/* Ids are unique, match their theme and number, run without gaps from 1
 * in each theme, and every control has an English title. */
static void test_ids(void **state)
{
	unsigned next[9] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
	(void)state;
	for (size_t i = 0; i < annex_ncontrols; i++) {
		const struct annex_control *c = &annex_controls[i];
		char want[CONTROL_ID_MAX];
		snprintf(want, sizeof(want), "%u.%u", c->theme, c->num);
		assert_string_equal(c->id, want);
		assert_int_equal(c->num, next[c->theme]);
		next[c->theme]++;
		assert_true(strlen(c->en) > 3);
		assert_non_null(c->ja);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(annex_controls[j].id, c->id);
		assert_ptr_equal(annex_control_find(c->id), c);
	}
	assert_string_equal(annex_control_find("5.15")->en, "Access control");
	assert_string_equal(annex_control_find("6.3")->ja,
			    "情報セキュリティの意識向上，教育及び訓練");
	assert_string_equal(annex_control_find("8.15")->en, "Logging");
	assert_null(annex_control_find("5.38"));
	assert_null(annex_control_find("6.9"));
	assert_null(annex_control_find("A.9.1"));
	assert_null(annex_control_find(""));
	assert_null(annex_control_find(NULL));
}

/* Every mapping target exists, no chapter maps a control twice, and
 * every control is mapped to at least one chapter. */
static void test_mapping(void **state)
{
	bool mapped[ANNEX_CONTROLS] = {false};
	const struct mic_chapter *ch[16];
	(void)state;
	assert_int_equal(mic_nchapters, 9);
	assert_string_equal(mic_chapters[0].id, "2");
	assert_string_equal(mic_chapters[0].ja, "組織体制");
	assert_string_equal(mic_chapters[8].id, "10");
	assert_string_equal(mic_chapters[8].ja, "評価・見直し");
	for (size_t i = 0; i < mic_nchapters; i++) {
		const struct mic_chapter *m = &mic_chapters[i];
		assert_true(m->ncontrols > 0);
		assert_ptr_equal(mic_chapter_find(m->id), m);
		for (size_t j = 0; j < m->ncontrols; j++) {
			const struct annex_control *c = annex_control_find(m->controls[j]);
			assert_non_null(c);
			mapped[c - annex_controls] = true;
			for (size_t k = 0; k < j; k++)
				assert_string_not_equal(m->controls[k], m->controls[j]);
		}
	}
	for (size_t i = 0; i < annex_ncontrols; i++)
		if (!mapped[i])
			fail_msg("control %s is mapped to no MIC chapter", annex_controls[i].id);
	assert_null(mic_chapter_find("1"));
	assert_null(mic_chapter_find("11"));
	/* 6.3 awareness and training belongs to 人的セキュリティ. */
	assert_int_equal(mic_chapters_of("6.3", ch, 16), 1);
	assert_string_equal(ch[0]->ja, "人的セキュリティ");
	/* 5.24 is in 組織体制 (CSIRT) and 運用 (incident response). */
	assert_int_equal(mic_chapters_of("5.24", ch, 16), 2);
	assert_int_equal(mic_chapters_of("5.24", ch, 1), 2); /* counted past cap */
	assert_int_equal(mic_chapters_of("9.9", ch, 16), 0);
}

static void test_live_sources(void **state)
{
	(void)state;
	assert_true(soa_live_sources("5.15") & SOA_LIVE_DECISIONS);
	assert_true(soa_live_sources("8.3") & SOA_LIVE_DECISIONS);
	assert_true(soa_live_sources("8.15") & SOA_LIVE_LEDGER);
	assert_true(soa_live_sources("6.3") & SOA_LIVE_TRAINING);
	assert_true(soa_live_sources("8.16") & SOA_LIVE_ALERTS);
	assert_true(soa_live_sources("5.26") & SOA_LIVE_INCIDENTS);
	assert_int_equal(soa_live_sources("7.1"), 0);
	assert_int_equal(soa_live_sources("nonsense"), 0);
	assert_int_equal(soa_live_sources(NULL), 0);
	/* Every control with live evidence exists. */
	for (unsigned t = 5; t <= 8; t++)
		for (unsigned n = 1; n <= 40; n++) {
			char id[8];
			snprintf(id, sizeof(id), "%u.%u", t, n);
			if (soa_live_sources(id))
				assert_non_null(annex_control_find(id));
		}
}

/* ---- the SoA on a scratch store ---- */

static json_t *entry_of(json_t *st, const char *control)
{
	size_t i;
	json_t *e;
	json_array_foreach(
	    json_object_get(st, "entries"), i,
	    e) if (!strcmp(json_string_value(json_object_get(e, "control")), control)) return e;
	return NULL;
}

static void test_soa_seed(void **state)
{
	struct fx *f = *state;
	struct isms_ctx aud = fx_as(f, &f->auditor), dm = fx_as(f, &f->dm1);
	struct soa_env env = {"試験市", NULL, NULL, NULL, 0, 0};
	size_t n = 99;
	uint64_t size0;
	json_t *st = NULL, *e, *ev;
	struct buf csv;

	/* Neither an auditor nor a department manager may seed. */
	assert_int_equal(isms_soa_seed(&aud, &n), ERR_FORBIDDEN);
	assert_int_equal(isms_soa_seed(&dm, &n), ERR_FORBIDDEN);
	assert_int_equal(n, 0);
	size0 = ledger_size(f->lg);
	assert_int_equal(isms_soa_seed(&f->c, &n), 0);
	assert_int_equal(n, 93);
	assert_int_equal(ledger_size(f->lg), size0 + 93);
	/* Seeding again makes nothing. */
	assert_int_equal(isms_soa_seed(&f->c, &n), 0);
	assert_int_equal(n, 0);

	env.day = ts_jst_day(FX_NOW);
	assert_int_equal(isms_soa_statement(&aud, &env, &st), 0);
	assert_int_equal(json_array_size(json_object_get(st, "entries")), 93);
	assert_int_equal(json_array_size(json_object_get(st, "missing")), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st, "counts"), "planned")), 93);
	e = entry_of(st, "8.15");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "title")), "Logging");
	ev = json_array_get(json_object_get(e, "live_evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "source")), "ledger");
	/* The ledger holds the 93 seed records; no checkpoint yet. */
	assert_int_equal(json_integer_value(json_object_get(ev, "entries")),
			 (json_int_t)(size0 + 93));
	assert_string_equal(json_string_value(json_object_get(ev, "status")), "no_checkpoint");
	e = entry_of(st, "6.3");
	ev = json_array_get(json_object_get(e, "live_evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "source")), "training");
	/* S001, S002, S003, S004 are active on 2026-06-01; S003 and S004
	 * trained within 365 days. */
	assert_int_equal(json_integer_value(json_object_get(ev, "active_staff")), 4);
	assert_int_equal(json_integer_value(json_object_get(ev, "trained")), 2);
	e = entry_of(st, "7.1");
	assert_null(json_object_get(e, "live_evidence"));
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(e, "mic"), 0), "chapter")),
			    "5");

	buf_init(&csv, (size_t)4 << 20);
	assert_int_equal(isms_soa_csv(st, &csv), 0);
	assert_non_null(strstr(csv.data, "\"control\",\"title_en\""));
	assert_non_null(strstr(csv.data, "\"8.15\",\"Logging\",\"ログ取得\",\"true\""));
	assert_non_null(strstr(csv.data, "ledger status=no_checkpoint"));
	buf_release(&csv);
	json_decref(st);
}

/* Validation of an entry: the control must be in Annex A, an applicable
 * control needs a status, a justification is always required; the title
 * is set from the library whatever is sent. */
static void test_soa_validation(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	json_t *got = NULL;

	assert_int_equal(
	    fx_create(&f->c, &isms_kind_soa,
		      "{\"control\":\"5.99\",\"applicable\":false,\"justification\":\"x\"}", id),
	    ERR_INVALID);
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_soa,
		      "{\"control\":\"5.1\",\"applicable\":true,\"justification\":\"x\"}", id),
	    ERR_INVALID);
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_soa, "{\"control\":\"7.4\",\"applicable\":false}", id),
	    ERR_INVALID);
	assert_int_equal(fx_create(&f->c, &isms_kind_soa,
				   "{\"control\":\"7.4\",\"applicable\":false,\"title\":\"wrong\","
				   "\"justification\":\"庁舎に監視カメラを置かない\"}",
				   id),
			 0);
	/* One entry per control; the entry itself may be updated. */
	{
		char id2[ISMS_ID_MAX];
		json_t *patch = json_pack("{s:s}", "justification", "別の理由");
		struct diag d;
		assert_int_equal(
		    fx_create(&f->c, &isms_kind_soa,
			      "{\"control\":\"7.4\",\"applicable\":true,\"status\":\"partial\","
			      "\"justification\":\"二重\"}",
			      id2),
		    ERR_INVALID);
		diag_init(&d, 10);
		assert_int_equal(isms_update(&f->c, &isms_kind_soa, id, patch, 0, &d), 0);
		diag_release(&d);
		json_decref(patch);
	}
	assert_int_equal(isms_get(&f->c, &isms_kind_soa, id, &got), 0);
	assert_string_equal(json_string_value(json_object_get(got, "title")),
			    "Physical security monitoring");
	json_decref(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_per_theme),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_mapping),
	    cmocka_unit_test(test_live_sources),
	    cmocka_unit_test_setup_teardown(test_soa_seed, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_soa_validation, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

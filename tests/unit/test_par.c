/* Unit tests for the ledger's second thread (src/ledger/par.h): every
 * index done exactly once whether the work is split or not, callers at
 * the same time, the asynchronous half, one core, stop and reuse. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/par.h"

#define N_MAX 5000

struct counts {
	atomic_uint seen[N_MAX];
	atomic_uint calls;
	pthread_t who[2]; /* threads that ran a part */
	atomic_uint nwho;
};

static void count_range(void *ctx, size_t lo, size_t hi)
{
	struct counts *c = ctx;
	unsigned w = atomic_fetch_add(&c->calls, 1);

	if (w < 2)
		c->who[w] = pthread_self();
	for (size_t i = lo; i < hi; i++)
		atomic_fetch_add(&c->seen[i], 1);
}

static void each_once(struct counts *c, size_t n)
{
	for (size_t i = 0; i < N_MAX; i++)
		assert_int_equal(atomic_load(&c->seen[i]), i < n ? 1 : 0);
}

static void test_split_each_once(void **state)
{
	static const size_t ns[] = { 0, 1, 2, 127, 128, 129, 1001, N_MAX };
	struct par p;
	(void)state;

	unsetenv("MAMORI_LEDGER_THREADS");
	par_init(&p);
	for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
		struct counts *c = calloc(1, sizeof(*c));

		par_split(&p, count_range, c, ns[k], 128);
		each_once(c, ns[k]);
		/* Below the minimum the caller does it all in one call; at or
		 * above it (on two cores) two threads take a half each. */
		if (ns[k] < 128)
			assert_int_equal(atomic_load(&c->calls), 1);
		else if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
			assert_int_equal(atomic_load(&c->calls), 2);
			assert_false(pthread_equal(c->who[0], c->who[1]));
		}
		free(c);
	}
	par_stop(&p);
}

static void test_one_thread_when_asked(void **state)
{
	struct par p;
	struct counts *c = calloc(1, sizeof(*c));
	(void)state;

	setenv("MAMORI_LEDGER_THREADS", "1", 1);
	par_init(&p);
	par_split(&p, count_range, c, 1000, 2);
	each_once(c, 1000);
	assert_int_equal(atomic_load(&c->calls), 1);
	assert_true(pthread_equal(c->who[0], pthread_self()));
	assert_false(par_begin(&p, count_range, c, 0, 10));
	par_stop(&p);
	unsetenv("MAMORI_LEDGER_THREADS");
	free(c);
}

struct caller {
	struct par *p;
	struct counts *c;
};

static void *caller_main(void *arg)
{
	struct caller *k = arg;

	for (int i = 0; i < 50; i++)
		par_split(k->p, count_range, &k->c[i], 300 + (size_t)i, 64);
	return NULL;
}

static void test_callers_at_once(void **state)
{
	struct par p;
	pthread_t th[4];
	struct caller k[4];
	(void)state;

	unsetenv("MAMORI_LEDGER_THREADS");
	par_init(&p);
	for (int t = 0; t < 4; t++) {
		k[t].p = &p;
		k[t].c = calloc(50, sizeof(struct counts));
		assert_int_equal(pthread_create(&th[t], NULL, caller_main, &k[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		for (int i = 0; i < 50; i++)
			each_once(&k[t].c[i], 300 + (size_t)i);
		free(k[t].c);
	}
	par_stop(&p);
}

static void test_begin_end_and_reuse(void **state)
{
	struct par p;
	struct counts *c = calloc(1, sizeof(*c));
	bool taken;
	(void)state;

	unsetenv("MAMORI_LEDGER_THREADS");
	par_init(&p);
	taken = par_begin(&p, count_range, c, 100, 200);
	if (!taken)
		count_range(c, 100, 200);
	else
		/* Busy with this caller's work: a second hand-off is refused. */
		assert_false(par_begin(&p, count_range, c, 0, 1));
	count_range(c, 0, 100);
	if (taken)
		par_end(&p);
	each_once(c, 200);
	/* Stopped, the same struct can start over. */
	par_stop(&p);
	par_init(&p);
	memset(c, 0, sizeof(*c));
	par_split(&p, count_range, c, 4000, 2);
	each_once(c, 4000);
	par_stop(&p);
	free(c);
}

/* A child process inherits the struct but not the thread: it must do
 * the work itself instead of waiting for a helper that is not there. */
static void test_forked_child(void **state)
{
	struct par p;
	struct counts *c = calloc(1, sizeof(*c));
	pid_t pid;
	int st = 0;
	(void)state;

	unsetenv("MAMORI_LEDGER_THREADS");
	par_init(&p);
	par_split(&p, count_range, c, 1000, 2); /* starts the helper */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct counts *k = calloc(1, sizeof(*k));
		bool ok = true;

		alarm(10); /* a wait for a helper that is not there ends here */
		par_split(&p, count_range, k, 1000, 2);
		for (size_t i = 0; i < 1000; i++)
			ok = ok && atomic_load(&k->seen[i]) == 1;
		ok = ok && atomic_load(&k->calls) == 1;
		par_stop(&p);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st))
		fail_msg("child ended by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	assert_int_equal(WEXITSTATUS(st), 0);
	par_stop(&p);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_each_once),
		cmocka_unit_test(test_one_thread_when_asked),
		cmocka_unit_test(test_callers_at_once),
		cmocka_unit_test(test_begin_end_and_reuse),
		cmocka_unit_test(test_forked_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

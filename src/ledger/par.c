/*
 * par.c - the ledger's second thread for CPU work split in two (par.h).
 */
#include "base/base.h"
#include "ledger/par.h"

#include <stdlib.h>
#include <unistd.h>

void par_init(struct par *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
}

static void *par_main(void *arg)
{
	struct par *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->posted && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		p->posted = false;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, p->lo, p->hi);
		pthread_mutex_lock(&p->mu);
		p->finished = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Whether splitting can pay: two cores online and not turned off. */
static bool par_wanted(struct par *p)
{
	if (p->cpus == 0) {
		const char *e = getenv("MAMORI_LEDGER_THREADS");
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		p->cpus = (e != NULL && strcmp(e, "1") == 0) || c < 2 ? 1 : 2;
	}
	return p->cpus >= 2;
}

bool par_begin(struct par *p, par_fn fn, void *ctx, size_t lo, size_t hi)
{
	bool taken = false;

	pthread_mutex_lock(&p->mu);
	if (p->started && p->pid != getpid())
		p->broken = true; /* a forked child: the thread stayed with the parent */
	if (!p->claimed && !p->broken && par_wanted(p)) {
		if (!p->started) {
			p->started = pthread_create(&p->th, NULL, par_main, p) == 0;
			p->broken = !p->started;
			p->pid = getpid();
		}
		if (p->started) {
			p->claimed = true;
			p->fn = fn;
			p->ctx = ctx;
			p->lo = lo;
			p->hi = hi;
			p->finished = false;
			p->posted = true;
			pthread_cond_broadcast(&p->cv);
			taken = true;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return taken;
}

void par_end(struct par *p)
{
	pthread_mutex_lock(&p->mu);
	while (!p->finished)
		pthread_cond_wait(&p->cv, &p->mu);
	p->claimed = false;
	pthread_mutex_unlock(&p->mu);
}

void par_split(struct par *p, par_fn fn, void *ctx, size_t n, size_t min)
{
	size_t half = n / 2;

	if (n < min || min < 2 || !par_begin(p, fn, ctx, half, n)) {
		fn(ctx, 0, n);
		return;
	}
	fn(ctx, 0, half);
	par_end(p);
}

void par_stop(struct par *p)
{
	bool ours = p->started && p->pid == getpid();

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (ours)
		pthread_join(p->th, NULL);
	/* In a forked child the parent's helper still counts as a waiter on
	 * the condition, and destroying it would wait for that thread
	 * forever: the memory is simply set up again. */
	if (!p->started || ours) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	par_init(p);
}

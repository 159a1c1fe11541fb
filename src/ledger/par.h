/*
 * par.h - private to src/ledger/: a second thread that takes half of a
 * piece of CPU work (the body checks and leaf hashes of a large append,
 * the leaf hashes of verification), so that the ledger uses two cores
 * where it has them. See docs/internals/ledger.md, "Two cores".
 *
 * A struct par owns at most one helper thread, started at the first split
 * and stopped by par_stop. par_split gives the helper the upper half of a
 * range and runs the lower half on the calling thread; when the helper is
 * already busy with another caller's half, or only one core is online,
 * or MAMORI_LEDGER_THREADS=1 is set, the caller does the whole range
 * itself (so does a child process that inherited a struct par from its
 * parent: fork does not copy the thread). Either way fn has run over
 * every index of [0, n) exactly once
 * when par_split returns, so results never depend on the split.
 *
 * Threading: par_split and par_begin may be called from any number of
 * threads at once; par_stop only when no call is in flight (at close).
 */
#ifndef MAMORI_LEDGER_PAR_H
#define MAMORI_LEDGER_PAR_H

#include "base/base.h"

#include <pthread.h>
#include <sys/types.h>

/* fn(ctx, lo, hi): do the work of indexes [lo, hi); must not fail. */
typedef void (*par_fn)(void *ctx, size_t lo, size_t hi);

struct par {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* work posted, work done, stop: one condition */
	pthread_t th;
	bool started, broken; /* broken: the thread could not be started */
	bool claimed;         /* a caller owns the helper now */
	bool posted, finished, stop;
	par_fn fn;
	void *ctx;
	size_t lo, hi;
	unsigned cpus; /* 0 until first looked up */
	pid_t pid;     /* the process that started the thread */
};

/* An idle struct par (no thread yet). */
void par_init(struct par *p);

/*
 * Run fn over [0, n): ranges of at least min indexes are split in two
 * (see above). min must be at least 2.
 */
void par_split(struct par *p, par_fn fn, void *ctx, size_t n, size_t min);

/*
 * The two halves of par_split, for work that overlaps something else:
 * par_begin hands fn(ctx, lo, hi) to the helper and returns true, or
 * returns false (helper busy, one core, turned off) and the caller does
 * the work itself. After a true, par_end waits until the work is done;
 * it must be called before the next par_begin on p by the same caller.
 */
bool par_begin(struct par *p, par_fn fn, void *ctx, size_t lo, size_t hi);
void par_end(struct par *p);

/* Stop and join the helper, if one was started; p is idle again after. */
void par_stop(struct par *p);

#endif

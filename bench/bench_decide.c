/*
 * bench_decide.c - mamori's decisions per second in-process on one core.
 *
 *   bench_decide INSTANCE_DIR REQUESTS.jsonl [--out FILE] [--repeat N]
 *
 * Opens the instance with its policy and registry loaded into a decider
 * (instance_open with INSTANCE_ENGINE, the same path `mamori serve` takes),
 * parses every request first (decide_req_parse), pins itself to CPU 0 and
 * then times decide() over all requests, N times (default 5); the fastest
 * pass is reported, as the peers do. decide() does its own look-ups of
 * person, resident, system and cases, so they are inside the timed loop.
 * Decisions of the last pass are written one line per request in the
 * format the peers use (bench/peers/common.js):
 *   allow|deny [alert] [deny:CODE ...] [warn:CODE ...]
 * Nothing is written to the ledger: this measures decide(), not recording.
 */
#include "base/base.h"

#include <sched.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "instance/instance.h"
#include "policy/policy.h"

#define MAX_REQUESTS ((size_t)20 * 1000 * 1000)

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Read and parse every request of file into *rqs (strings in a). A request
 * that decide_req_parse rejects is kept as a slot marked in *invalid (its
 * output line is "invalid"), so that lines stay aligned with the peers'
 * and the rejection shows up in the comparison; it is not timed.
 */
static int requests_load(const char *file, struct arena *a, struct decide_req **rqs, size_t *n,
			 uint8_t **invalid, size_t *ninvalid)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, rcap = 0, icap = 0;
	long lineno = 0;
	ssize_t got;
	struct buf err;
	int rc = 0;
	int64_t now = ts_now();

	buf_init(&err, 4096);
	if (!f) {
		fprintf(stderr, "bench_decide: %s: %s\n", file, strerror(errno));
		rc = ERR_IO;
		goto out;
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			got--;
		if (got == 0)
			continue;
		if (*n >= MAX_REQUESTS) {
			fprintf(stderr, "bench_decide: %s: more than %zu requests\n", file,
				MAX_REQUESTS);
			rc = ERR_TOO_LARGE;
			goto out;
		}
		rc = ARRAY_GROW(*rqs, rcap, *n + 1);
		if (!rc)
			rc = ARRAY_GROW(*invalid, icap, *n + 1);
		if (rc)
			goto out;
		buf_reset(&err);
		(*invalid)[*n] = 0;
		if (decide_req_parse(line, (size_t)got, now, a, &(*rqs)[*n], &err) != 0) {
			if (*ninvalid < 5)
				fprintf(stderr, "%s:%ld: %.*s\n", file, lineno, (int)err.len,
					err.data ? err.data : "");
			memset(&(*rqs)[*n], 0, sizeof((*rqs)[*n]));
			(*invalid)[*n] = 1;
			(*ninvalid)++;
		}
		(*n)++;
	}
out:
	free(line);
	if (f)
		fclose(f);
	buf_release(&err);
	return rc;
}

/* One output line for res, in the peers' format. */
static void line_write(FILE *f, const struct decider *dc, const struct decide_res *res)
{
	bool alert = false;

	for (unsigned i = 0; i < 64; i++) {
		const char *name;
		if (!(res->obligations & ((uint64_t)1 << i)))
			continue;
		name = decider_obligation_name(dc, i);
		if (name && strcmp(name, "alert") == 0)
			alert = true;
	}
	fputs(res->decision == DECISION_ALLOW ? "allow" : "deny", f);
	if (alert)
		fputs(" alert", f);
	for (uint32_t k = 0; k < res->nreasons && k < DECIDE_MAX_REASONS; k++) {
		if (res->reasons[k].effect == EFFECT_DENY)
			fprintf(f, " deny:%s", res->reasons[k].code);
	}
	for (uint32_t k = 0; k < res->nreasons && k < DECIDE_MAX_REASONS; k++) {
		if (res->reasons[k].effect == EFFECT_WARN)
			fprintf(f, " warn:%s", res->reasons[k].code);
	}
	fputc('\n', f);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *file = NULL, *outpath = NULL;
	unsigned repeat = 5;
	struct instance *in = NULL;
	const struct decider *dc = NULL;
	struct policy_engine *eng = NULL;
	struct arena *a = NULL;
	struct decide_req *rqs = NULL;
	struct decide_res *res = NULL;
	uint8_t *invalid = NULL;
	size_t n = 0, ninvalid = 0, nvalid;
	struct diag d;
	cpu_set_t cpus;
	double best = 0;
	uint64_t allow = 0;
	int rc = 1;

	diag_init(&d, 100);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			outpath = argv[++i];
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			int64_t v;
			if (parse_i64(argv[i + 1], strlen(argv[i + 1]), 1, 100, &v) != 0) {
				fprintf(stderr, "bench_decide: --repeat: 1..100\n");
				goto out;
			}
			repeat = (unsigned)v;
			i++;
		} else if (!dir) {
			dir = argv[i];
		} else if (!file) {
			file = argv[i];
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir || !file) {
		fprintf(
		    stderr,
		    "usage: bench_decide INSTANCE_DIR REQUESTS.jsonl [--out FILE] [--repeat N]\n");
		rc = 2;
		goto out;
	}
	if (instance_open(dir, INSTANCE_ENGINE, &in, &d) != 0) {
		diag_print(&d, stderr);
		fprintf(stderr, "bench_decide: cannot open instance %s\n", dir);
		goto out;
	}
	eng = instance_engine(in);
	dc = eng ? policy_engine_acquire(eng) : NULL;
	if (!dc) {
		fprintf(stderr, "bench_decide: %s: no decider\n", dir);
		goto out;
	}
	a = arena_new(1 << 20);
	if (requests_load(file, a, &rqs, &n, &invalid, &ninvalid) != 0 || n == 0)
		goto out;
	/* Valid requests first, in order; the timed loop runs over them only. */
	nvalid = 0;
	for (size_t i = 0; i < n; i++) {
		if (!invalid[i])
			rqs[nvalid++] = rqs[i];
	}
	res = xcalloc(n, sizeof(*res));

	/* One core: the figure is per core, and CPU 0 keeps it repeatable. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
		fprintf(stderr, "bench_decide: sched_setaffinity: %s\n", strerror(errno));

	for (unsigned r = 0; r < repeat; r++) {
		int64_t t0 = now_ns(), dt;
		for (size_t i = 0; i < nvalid; i++)
			decide(dc, &rqs[i], &res[i]);
		dt = now_ns() - t0;
		if (r == 0 || (double)dt / 1e9 < best)
			best = (double)dt / 1e9;
	}
	for (size_t i = 0; i < nvalid; i++)
		allow += res[i].decision == DECISION_ALLOW;
	if (outpath) {
		FILE *f = fopen(outpath, "w");
		if (!f) {
			fprintf(stderr, "bench_decide: %s: %s\n", outpath, strerror(errno));
			goto out;
		}
		for (size_t i = 0, k = 0; i < n; i++) {
			if (invalid[i])
				fputs("invalid\n", f);
			else
				line_write(f, dc, &res[k++]);
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "bench_decide: %s: write failed\n", outpath);
			goto out;
		}
	}
	printf("mamori requests=%zu seconds=%.4f decisions_per_s=%.0f allow=%" PRIu64
	       " invalid=%zu repeat=%u\n",
	       nvalid, best, best > 0 ? (double)nvalid / best : 0, allow, ninvalid, repeat);
	rc = 0;
out:
	if (dc)
		policy_engine_release(eng, dc);
	free(res);
	free(rqs);
	free(invalid);
	arena_free(a);
	instance_close(in);
	diag_release(&d);
	return rc;
}

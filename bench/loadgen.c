/*
 * loadgen.c - an HTTP/1.1 load generator for POST /v1/decide (and POST
 * /v1/events) over loopback.
 *
 *   loadgen --port P --key KEY --requests FILE [--host 127.0.0.1]
 *           [--conns 16] [--path /v1/decide] [--batch N]
 *           fixed:  --rate R --duration S
 *           search: --search --p99-max-ms M [--start R] [--step-seconds S]
 *                   [--max-rate R]
 *
 * Open loop: request i is due at t0 + i/rate whatever happened to the
 * requests before it, and its latency is measured from that due time, so a
 * server that stalls is charged for the queue it causes (no coordinated
 * omission). Each of the keep-alive connections carries one request at a
 * time; a due request waits for an idle connection. Bodies are the lines of
 * the requests file, used in order and cycled; with --batch N (for
 * POST /v1/events, whose body is JSON Lines) each body is N consecutive
 * lines, each ending in a newline, and the output adds batch=N and
 * events_per_s (the achieved rate times N).
 *
 * The search mode raises the rate step by step (x1.5) while the step ends
 * with zero errors, p99 under the bound and the achieved rate within 5 % of
 * the offered one, then bisects between the last good and the first bad
 * rate three times. Everything is bounded: at most 1024 connections,
 * 120 s per run, 40 steps; only 127.0.0.1 is accepted as the target.
 *
 * Output: one line per run, key=value, for bench/run.sh.
 */
#include "base/base.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define MAX_DURATION_S 120
#define MAX_STEPS 40
#define MAX_BODIES 2000000
#define IN_CAP 65536
#define DRAIN_NS ((int64_t)5 * 1000000000)
#define MAX_BATCH 10000

static unsigned batch = 1; /* --batch: lines per body */

struct conn {
	int fd;
	bool busy;
	int64_t due_ns; /* due time of the request in flight */
	char *out;
	size_t outlen, outoff;
	char in[IN_CAP];
	size_t inlen;
};

struct opts {
	uint16_t port;
	const char *key;
	const char *requests;
	const char *path;
	unsigned conns;
	double rate;
	unsigned duration;
	bool search;
	double p99_max_ms;
	double start;
	unsigned step_seconds;
	double max_rate;
};

struct bodies {
	char **v;
	size_t *len;
	size_t n;
};

struct result {
	double offered, achieved;
	size_t sent, ok, errors, allow, deny;
	int64_t p50, p99, max; /* ns */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bodies_load(const char *file, struct bodies *b)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, vcap = 0, lcap = 0;
	ssize_t got;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "loadgen: %s: %s\n", file, strerror(errno));
		return ERR_IO;
	}
	while (b->n < MAX_BODIES && (got = getline(&line, &cap, f)) >= 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			got--;
		if (got == 0)
			continue;
		if (ARRAY_GROW(b->v, vcap, b->n + 1) || ARRAY_GROW(b->len, lcap, b->n + 1)) {
			rc = ERR_NOMEM;
			goto out;
		}
		b->v[b->n] = xstrndup(line, (size_t)got);
		b->len[b->n] = (size_t)got;
		b->n++;
	}
	if (b->n == 0) {
		fprintf(stderr, "loadgen: %s: no requests\n", file);
		rc = ERR_INVALID;
	}
	if (rc == 0 && batch > 1) {
		/* Groups of batch lines, each line ending in '\n'. */
		size_t groups = b->n / batch;

		if (groups == 0) {
			fprintf(stderr, "loadgen: %s: fewer than %u lines for one batch\n", file,
				batch);
			rc = ERR_INVALID;
			goto out;
		}
		for (size_t g = 0; g < groups; g++) {
			size_t len = 0, off = 0;
			char *body;

			for (size_t k = g * batch; k < (g + 1) * batch; k++)
				len += b->len[k] + 1;
			body = xmalloc(len + 1);
			for (size_t k = g * batch; k < (g + 1) * batch; k++) {
				memcpy(body + off, b->v[k], b->len[k]);
				off += b->len[k];
				body[off++] = '\n';
				free(b->v[k]);
			}
			body[off] = '\0';
			b->v[g] = body;
			b->len[g] = len;
		}
		for (size_t k = groups * batch; k < b->n; k++)
			free(b->v[k]);
		b->n = groups;
	}
out:
	free(line);
	fclose(f);
	return rc;
}

static int conn_open(struct conn *c, uint16_t port, int ep)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return ERR_IO;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return ERR_IO;
	}
	memset(&ev, 0, sizeof(ev));
	/* Edge-triggered: a level-triggered EPOLLOUT on an idle socket would
	 * wake the loop all the time and take CPU from the server. Reads
	 * drain to EAGAIN; at most one response is in flight per connection. */
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close(c->fd);
		c->fd = -1;
		return ERR_IO;
	}
	c->busy = false;
	c->inlen = 0;
	c->outlen = c->outoff = 0;
	return 0;
}

static void conn_close(struct conn *c, int ep)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = false;
}

static void conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		/* MSG_NOSIGNAL: a server that closed the connection is an
		 * error to count, not a SIGPIPE. */
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* EAGAIN: EPOLLOUT continues it; errors show up on read */
		c->outoff += (size_t)w;
	}
}

static int conn_send(struct conn *c, const struct opts *o, const struct bodies *b, size_t i,
		     int64_t due)
{
	size_t need = b->len[i] + 512 + strlen(o->key) + strlen(o->path);
	int n;

	free(c->out);
	c->out = xmalloc(need);
	n = snprintf(c->out, need,
		     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
		     o->path, (unsigned)o->port, o->key, b->len[i], (int)b->len[i], b->v[i]);
	if (n < 0 || (size_t)n >= need)
		return ERR_OVERFLOW;
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->busy = true;
	c->due_ns = due;
	conn_flush(c);
	return 0;
}

/* Case-insensitive search for a header name at a line start in [p, end). */
static const char *header_find(const char *p, const char *end, const char *name)
{
	size_t nl = strlen(name);
	for (; p + nl < end; p++) {
		if ((p[-1] == '\n') && strncasecmp(p, name, nl) == 0)
			return p + nl;
	}
	return NULL;
}

/*
 * Parse a complete response at the start of c->in. Returns 1 with *status,
 * *used and *decision (1 allow, 2 deny, 0 neither) when one is complete, 0
 * when more bytes are needed, ERR_INVALID on garbage.
 */
static int response_parse(struct conn *c, int *status, size_t *used, int *decision,
			  bool *close_after)
{
	const char *hend, *cl, *conn_h;
	size_t hlen, blen = 0;
	char *endp;

	if (c->inlen < 12)
		return 0;
	hend = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!hend)
		return c->inlen >= IN_CAP ? ERR_INVALID : 0;
	if (memcmp(c->in, "HTTP/1.", 7) != 0)
		return ERR_INVALID;
	*status = (c->in[9] - '0') * 100 + (c->in[10] - '0') * 10 + (c->in[11] - '0');
	hlen = (size_t)(hend - c->in) + 4;
	cl = header_find(c->in + 1, hend, "content-length:");
	if (cl) {
		unsigned long long v = strtoull(cl, &endp, 10);
		if (endp == cl || v > IN_CAP)
			return ERR_INVALID;
		blen = (size_t)v;
	}
	conn_h = header_find(c->in + 1, hend, "connection:");
	*close_after = conn_h && memmem(conn_h, (size_t)(hend - conn_h), "close", 5) != NULL;
	if (hlen + blen > IN_CAP)
		return ERR_INVALID;
	if (c->inlen < hlen + blen)
		return 0;
	*decision = 0;
	if (memmem(c->in + hlen, blen, "\"decision\": \"allow\"", 19) ||
	    memmem(c->in + hlen, blen, "\"decision\":\"allow\"", 18))
		*decision = 1;
	else if (memmem(c->in + hlen, blen, "\"decision\": \"deny\"", 18) ||
		 memmem(c->in + hlen, blen, "\"decision\":\"deny\"", 17))
		*decision = 2;
	*used = hlen + blen;
	return 1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* One open-loop run at rate for seconds. */
static int run_fixed(const struct opts *o, const struct bodies *b, double rate, unsigned seconds,
		     size_t *next_body, struct result *r)
{
	struct conn *cs = NULL;
	int64_t *lat = NULL;
	size_t total, sent = 0, done = 0, nlat = 0, i;
	int64_t t0, end_sched, deadline, interval;
	int ep = -1, rc = 0;
	struct epoll_event evs[256];

	memset(r, 0, sizeof(*r));
	r->offered = rate;
	total = (size_t)(rate * seconds);
	if (total == 0)
		total = 1;
	lat = xcalloc(total, sizeof(*lat));
	cs = xcalloc(o->conns, sizeof(*cs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		rc = ERR_IO;
		goto out;
	}
	for (i = 0; i < o->conns; i++) {
		cs[i].fd = -1;
		if (conn_open(&cs[i], o->port, ep) != 0) {
			fprintf(stderr, "loadgen: cannot connect to 127.0.0.1:%u: %s\n",
				(unsigned)o->port, strerror(errno));
			rc = ERR_IO;
			goto out;
		}
	}
	interval = (int64_t)(1e9 / rate);
	t0 = now_ns() + 1000000; /* let the connects finish */
	end_sched = t0 + (int64_t)(total - 1) * interval;
	deadline = end_sched + DRAIN_NS;
	while (done < total) {
		int64_t now = now_ns(), wait_ns;
		struct timespec tmo;
		int n;

		if (now > deadline)
			break;
		/* Hand every due request to an idle connection. */
		for (i = 0; i < o->conns && sent < total; i++) {
			int64_t due = t0 + (int64_t)sent * interval;
			if (due > now)
				break;
			if (cs[i].busy)
				continue;
			if (cs[i].fd < 0 && conn_open(&cs[i], o->port, ep) != 0) {
				r->errors++;
				done++;
				sent++;
				continue;
			}
			if (conn_send(&cs[i], o, b, *next_body, due) != 0) {
				rc = ERR_OVERFLOW;
				goto out;
			}
			*next_body = (*next_body + 1) % b->n;
			sent++;
		}
		/* Sleep until the next request is due (to the nanosecond: a
		 * millisecond timeout would spin at rates above 1,000/s). */
		wait_ns = sent < total ? t0 + (int64_t)sent * interval - now : 1000000;
		if (wait_ns < 0)
			wait_ns = 0;
		tmo.tv_sec = wait_ns / 1000000000;
		tmo.tv_nsec = wait_ns % 1000000000;
		n = epoll_pwait2(ep, evs, (int)ARRAY_SIZE(evs), &tmo, NULL);
		if (n < 0 && errno != EINTR) {
			rc = ERR_IO;
			goto out;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			if (c->fd < 0)
				continue;
			if ((evs[k].events & EPOLLOUT) && c->busy)
				conn_flush(c);
			if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				ssize_t got = 0;
				bool dead = false;
				while (c->inlen < IN_CAP) {
					got = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
					if (got > 0) {
						c->inlen += (size_t)got;
						continue;
					}
					if (got == 0 || (errno != EAGAIN && errno != EINTR))
						dead = true;
					break;
				}
				for (;;) {
					int status = 0, decision = 0, pr;
					size_t used = 0;
					bool close_after = false;
					if (!c->busy)
						break;
					pr = response_parse(c, &status, &used, &decision,
							    &close_after);
					if (pr == 0)
						break;
					if (pr < 0) {
						dead = true;
						break;
					}
					/* 2xx; or 403 carrying a deny, should the API
					 * give a deny that status. */
					if ((status >= 200 && status < 300) ||
					    (status == 403 && decision == 2)) {
						r->ok++;
						if (nlat < total)
							lat[nlat++] = now_ns() - c->due_ns;
						if (decision == 1)
							r->allow++;
						else if (decision == 2)
							r->deny++;
					} else {
						r->errors++;
						if (r->errors <= 3)
							fprintf(stderr, "loadgen: HTTP %d\n",
								status);
					}
					done++;
					c->busy = false;
					memmove(c->in, c->in + used, c->inlen - used);
					c->inlen -= used;
					if (close_after)
						dead = true;
				}
				if (dead) {
					if (c->busy) {
						r->errors++;
						done++;
					}
					conn_close(c, ep);
				}
			}
		}
	}
	r->sent = sent;
	/* Requests never answered before the drain deadline are errors. */
	r->errors += total - done;
	if (nlat > 0) {
		int64_t span = now_ns() - t0;
		qsort(lat, nlat, sizeof(*lat), cmp_i64);
		r->p50 = lat[nlat / 2];
		r->p99 = lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1];
		r->max = lat[nlat - 1];
		r->achieved = span > 0 ? (double)r->ok / ((double)span / 1e9) : 0;
	}
out:
	if (cs) {
		for (i = 0; i < o->conns; i++) {
			conn_close(&cs[i], ep);
			free(cs[i].out);
		}
	}
	if (ep >= 0)
		close(ep);
	free(cs);
	free(lat);
	return rc;
}

static void result_print(const char *mode, const struct result *r)
{
	printf("%s offered_rps=%.0f achieved_rps=%.0f sent=%zu ok=%zu errors=%zu allow=%zu "
	       "deny=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
	       mode, r->offered, r->achieved, r->sent, r->ok, r->errors, r->allow, r->deny,
	       (double)r->p50 / 1e3, (double)r->p99 / 1e3, (double)r->max / 1e3);
	if (batch > 1)
		printf("%s batch=%u events_per_s=%.0f\n", mode, batch, r->achieved * batch);
	fflush(stdout);
}

static bool result_good(const struct opts *o, const struct result *r)
{
	return r->errors == 0 && (double)r->p99 / 1e6 <= o->p99_max_ms &&
	       r->achieved >= 0.95 * r->offered;
}

static int run_search(const struct opts *o, const struct bodies *b)
{
	struct result r, best;
	double rate = o->start, good = 0, bad = 0;
	size_t next = 0;
	int rc, steps = 0;

	memset(&best, 0, sizeof(best));
	while (steps++ < MAX_STEPS && rate <= o->max_rate) {
		rc = run_fixed(o, b, rate, o->step_seconds, &next, &r);
		if (rc != 0)
			return rc;
		result_print("step", &r);
		if (!result_good(o, &r)) {
			bad = rate;
			break;
		}
		good = rate;
		best = r;
		rate *= 1.5;
	}
	/* Bisect between the last good and the first bad rate. */
	for (int k = 0; k < 3 && good > 0 && bad > 0 && steps++ < MAX_STEPS; k++) {
		double mid = (good + bad) / 2;
		rc = run_fixed(o, b, mid, o->step_seconds, &next, &r);
		if (rc != 0)
			return rc;
		result_print("step", &r);
		if (result_good(o, &r)) {
			good = mid;
			best = r;
		} else {
			bad = mid;
		}
	}
	if (good == 0) {
		printf("max_sustainable none p99_bound_ms=%.1f\n", o->p99_max_ms);
		return 0;
	}
	printf("max_sustainable rate_rps=%.0f p99_bound_ms=%.1f ", good, o->p99_max_ms);
	result_print("at", &best);
	return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s)
		return ERR_INVALID;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return ERR_INVALID;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --port P --key KEY --requests FILE [--host 127.0.0.1]\n"
		"               [--conns 16] [--path /v1/decide] [--batch N(1-10000)]\n"
		"               (--rate R --duration S | --search --p99-max-ms M [--start R]\n"
		"                [--step-seconds S] [--max-rate R])\n");
}

int main(int argc, char **argv)
{
	struct opts o = {.path = "/v1/decide",
			 .conns = 16,
			 .rate = 2000,
			 .duration = 10,
			 .p99_max_ms = 10,
			 .start = 1000,
			 .step_seconds = 3,
			 .max_rate = 1e6};
	struct bodies b = {0};
	struct result r;
	size_t next = 0;
	double v;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--search") == 0) {
			o.search = true;
			continue;
		}
		if (!val) {
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--host") == 0) {
			/* Load generation is for this machine only. */
			if (strcmp(val, "127.0.0.1") != 0) {
				fprintf(stderr, "loadgen: refusing host %s: only 127.0.0.1\n", val);
				return 2;
			}
		} else if (strcmp(a, "--port") == 0 && parse_num(val, 1, 65535, &v) == 0) {
			o.port = (uint16_t)v;
		} else if (strcmp(a, "--key") == 0) {
			o.key = val;
		} else if (strcmp(a, "--requests") == 0) {
			o.requests = val;
		} else if (strcmp(a, "--path") == 0 && val[0] == '/' && strlen(val) < 256) {
			o.path = val;
		} else if (strcmp(a, "--batch") == 0 && parse_num(val, 1, MAX_BATCH, &v) == 0) {
			batch = (unsigned)v;
		} else if (strcmp(a, "--conns") == 0 && parse_num(val, 1, MAX_CONNS, &v) == 0) {
			o.conns = (unsigned)v;
		} else if (strcmp(a, "--rate") == 0 && parse_num(val, 1, 1e7, &v) == 0) {
			o.rate = v;
		} else if (strcmp(a, "--duration") == 0 &&
			   parse_num(val, 1, MAX_DURATION_S, &v) == 0) {
			o.duration = (unsigned)v;
		} else if (strcmp(a, "--p99-max-ms") == 0 && parse_num(val, 0.01, 10000, &v) == 0) {
			o.p99_max_ms = v;
		} else if (strcmp(a, "--start") == 0 && parse_num(val, 1, 1e7, &v) == 0) {
			o.start = v;
		} else if (strcmp(a, "--step-seconds") == 0 &&
			   parse_num(val, 1, MAX_DURATION_S, &v) == 0) {
			o.step_seconds = (unsigned)v;
		} else if (strcmp(a, "--max-rate") == 0 && parse_num(val, 1, 1e7, &v) == 0) {
			o.max_rate = v;
		} else {
			fprintf(stderr, "loadgen: bad option or value: %s %s\n", a, val);
			usage();
			return 2;
		}
	}
	if (!o.port || !o.key || !o.requests || strlen(o.key) > 256) {
		usage();
		return 2;
	}
	if (bodies_load(o.requests, &b) != 0)
		return 1;
	if (o.search) {
		rc = run_search(&o, &b);
	} else {
		rc = run_fixed(&o, &b, o.rate, o.duration, &next, &r);
		if (rc == 0)
			result_print("fixed", &r);
	}
	for (size_t i = 0; i < b.n; i++)
		free(b.v[i]);
	free(b.v);
	free(b.len);
	return rc == 0 ? 0 : 1;
}

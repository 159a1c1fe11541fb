/*
 * harness.h - helpers for integration tests: a temporary instance filled
 * with a small generated municipality, the real `mamori serve` started on
 * 127.0.0.1 (port chosen by the kernel), a minimal HTTP/1.1 client, and
 * running the real `mamori` command with captured output and exit code.
 *
 * The binary under test is $MAMORI_BIN (set by tests/run.sh), else
 * build/asan/mamori relative to the current directory.
 */
#ifndef MAMORI_TEST_HARNESS_H
#define MAMORI_TEST_HARNESS_H

#include <sys/types.h>

#include "base/base.h"
#include "base/buf.h"

struct h_instance {
	char dir[512];     /* temporary instance directory */
	char datadir[512]; /* generated data */
	char apikey[128];  /* a key created for the tests */
	pid_t pid;         /* server process, 0 when not running */
	uint16_t port;
};

/* Path of the mamori binary under test. */
const char *h_bin(void);

/*
 * Run `mamori args...` (NULL-terminated), feeding stdin_data (may be NULL)
 * and capturing stdout and stderr (either may be NULL). Returns the exit
 * status, or -1 if it could not run or was killed by a signal.
 */
int h_run(const char *const *args, const char *stdin_data, size_t stdin_len,
	  struct buf *out, struct buf *err);

/* Make a temporary instance: init, gen (scale S with the given residents,
 * staff and events overrides via --residents/--staff/--events), import,
 * and an API key. 0 on success. */
int h_instance_new(struct h_instance *hi, unsigned residents, unsigned staff, unsigned events);
/* Start `mamori serve DIR --listen 127.0.0.1:0` and wait until it listens. */
int h_serve_start(struct h_instance *hi);
/* SIGTERM the server and wait for it; returns its exit status. */
int h_serve_stop(struct h_instance *hi);
/* Stop the server (if running) and remove the directories. */
void h_instance_free(struct h_instance *hi);

struct h_resp {
	int status;
	struct buf headers; /* raw header block */
	struct buf body;
};
/*
 * One HTTP/1.1 request on a new connection to 127.0.0.1:port. extra_headers
 * is "Name: value\r\n..." or NULL. body may be NULL. Returns 0 if a response
 * was read (resp filled), negative on connection failure. Free with
 * h_resp_release.
 */
int h_http(uint16_t port, const char *method, const char *path, const char *extra_headers,
	   const char *body, size_t body_len, struct h_resp *resp);
/* The same with the test API key sent as "Authorization: Bearer KEY". */
int h_http_auth(struct h_instance *hi, const char *method, const char *path, const char *body,
		size_t body_len, struct h_resp *resp);
void h_resp_release(struct h_resp *r);
/* Value of a response header (case-insensitive name) into out; 0 if found. */
int h_resp_header(const struct h_resp *r, const char *name, char *out, size_t outlen);

#endif

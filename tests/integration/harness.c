/*
 * harness.c - the integration-test harness of harness.h: the real `mamori`
 * binary run as a child process, and a minimal HTTP/1.1 client.
 *
 * Everything waits with a deadline, so that a server that hangs fails the
 * test instead of hanging it: each command gets COMMAND_SECONDS, the server
 * START_SECONDS to say it listens, and each HTTP exchange HTTP_SECONDS.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"

#define COMMAND_SECONDS 120
#define START_SECONDS 30
#define STOP_SECONDS 20
#define HTTP_SECONDS 20
#define OUTPUT_MAX ((size_t)64 << 20)
#define RESPONSE_MAX ((size_t)16 << 20)

const char *h_bin(void)
{
	const char *b = getenv("MAMORI_BIN");
	return b && *b ? b : "build/asan/mamori";
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return left < 0 ? 0 : (int)(left > INT_MAX ? INT_MAX : left);
}

/* Wait for pid up to ms milliseconds; -2 if it is still running. */
static int wait_child(pid_t pid, int ms)
{
	int64_t deadline = now_ms() + ms;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return -2;
		usleep(10000);
	}
}

static int kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	(void)wait_child(pid, 5000);
	return -1;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Start bin with args; the child's stdin/stdout come from pipes when the
 * pointers are not NULL, else /dev/null; stderr goes to err_fd when it is
 * not -1 (a pipe or a file), else is inherited.
 */
static pid_t spawn(const char *const *args, int *in_w, int *out_r, int *err_r, int err_file)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	const char *argv[64];
	size_t n = 0;
	pid_t pid;

	argv[n++] = h_bin();
	for (; args[n - 1] && n < ARRAY_SIZE(argv) - 1; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	if (access(argv[0], X_OK) < 0) {
		fprintf(stderr, "harness: cannot run %s (set MAMORI_BIN)\n", argv[0]);
		return -1;
	}
	if ((in_w && pipe2(pin, O_CLOEXEC) < 0) || (out_r && pipe2(pout, O_CLOEXEC) < 0) ||
	    (err_r && pipe2(perr, O_CLOEXEC) < 0))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(in_w ? pin[0] : nul, 0);
		dup2(out_r ? pout[1] : nul, 1);
		if (err_r)
			dup2(perr[1], 2);
		else if (err_file >= 0)
			dup2(err_file, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (in_w) {
		close(pin[0]);
		*in_w = pin[1];
		set_nonblock(*in_w);
	}
	if (out_r) {
		close(pout[1]);
		*out_r = pout[0];
	}
	if (err_r) {
		close(perr[1]);
		*err_r = perr[0];
	}
	return pid;
}

/* out and err (when not NULL) are initialised here, whatever they held
 * before, and always left NUL-terminated; the caller releases them. */
int h_run(const char *const *args, const char *stdin_data, size_t stdin_len, struct buf *out,
	  struct buf *err)
{
	struct buf sink_out, sink_err;
	struct buf *bo = out ? out : &sink_out, *be = err ? err : &sink_err;
	int in_w = -1, out_r = -1, err_r = -1, rc = -1;
	size_t sent = 0;
	int64_t deadline = now_ms() + COMMAND_SECONDS * 1000;
	pid_t pid;

	buf_init(bo, OUTPUT_MAX);
	buf_init(be, OUTPUT_MAX);
	signal(SIGPIPE, SIG_IGN);
	pid = spawn(args, &in_w, &out_r, &err_r, -1);
	if (pid < 0)
		goto out;
	if (!stdin_data || stdin_len == 0) {
		close(in_w);
		in_w = -1;
	}
	while (out_r >= 0 || err_r >= 0) {
		struct pollfd p[3];
		nfds_t np = 0;
		int k;

		if (in_w >= 0)
			p[np++] = (struct pollfd){in_w, POLLOUT, 0};
		if (out_r >= 0)
			p[np++] = (struct pollfd){out_r, POLLIN, 0};
		if (err_r >= 0)
			p[np++] = (struct pollfd){err_r, POLLIN, 0};
		k = poll(p, np, remaining_ms(deadline));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "harness: '%s' timed out; killed\n", args[0]);
			kill_and_reap(pid);
			pid = -1;
			goto out;
		}
		for (nfds_t i = 0; i < np; i++) {
			char chunk[65536];
			ssize_t n;

			if (!p[i].revents)
				continue;
			if (p[i].fd == in_w) {
				n = write(in_w, stdin_data + sent, stdin_len - sent);
				if (n > 0)
					sent += (size_t)n;
				if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
				    sent == stdin_len) {
					close(in_w);
					in_w = -1;
				}
				continue;
			}
			n = read(p[i].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(p[i].fd);
				if (p[i].fd == out_r)
					out_r = -1;
				else
					err_r = -1;
				continue;
			}
			if (buf_append(p[i].fd == out_r ? bo : be, chunk, (size_t)n) < 0)
				goto out;
		}
	}
	rc = wait_child(pid, remaining_ms(deadline));
	if (rc == -2) {
		kill_and_reap(pid);
		rc = -1;
	}
	pid = -1;
out:
	if (pid > 0)
		kill_and_reap(pid);
	if (in_w >= 0)
		close(in_w);
	if (out_r >= 0)
		close(out_r);
	if (err_r >= 0)
		close(err_r);
	/* Leave both NUL-terminated, so callers may use string functions. */
	if (buf_append(bo, "", 0) < 0 || buf_append(be, "", 0) < 0)
		rc = -1;
	if (!out)
		buf_release(&sink_out);
	if (!err)
		buf_release(&sink_err);
	return rc;
}

/* Run a command that must succeed; print its output if it does not. */
static int run_ok(const char *const *args, struct buf *out)
{
	struct buf o, e;
	int rc = h_run(args, NULL, 0, &o, &e);
	if (rc != 0)
		fprintf(stderr, "harness: mamori %s exited %d\n%s%s", args[0], rc, o.data, e.data);
	if (out)
		*out = o;
	else
		buf_release(&o);
	buf_release(&e);
	return rc == 0 ? 0 : -1;
}

/* The base directory that holds dir and datadir ("BASE/inst"). */
static void base_of(const struct h_instance *hi, char *out, size_t len)
{
	const char *slash = strrchr(hi->dir, '/');
	size_t n = slash ? (size_t)(slash - hi->dir) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(out, hi->dir, n);
	out[n] = '\0';
}

int h_instance_new(struct h_instance *hi, unsigned residents, unsigned staff, unsigned events)
{
	const char *tmp = getenv("TMPDIR");
	char base[400], nres[24], nstaff[24], nev[24];
	struct buf out;
	const char *key;
	size_t klen;

	memset(hi, 0, sizeof(*hi));
	snprintf(base, sizeof(base), "%s/mamori-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		return -1;
	snprintf(hi->dir, sizeof(hi->dir), "%s/inst", base);
	snprintf(hi->datadir, sizeof(hi->datadir), "%s/data", base);
	snprintf(nres, sizeof(nres), "%u", residents ? residents : 500);
	snprintf(nstaff, sizeof(nstaff), "%u", staff ? staff : 30);
	snprintf(nev, sizeof(nev), "%u", events ? events : 1000);
	{
		const char *a[] = {"init", hi->dir, "--name", "テスト市", NULL};
		if (run_ok(a, NULL) < 0)
			return -1;
	}
	{
		const char *a[] = {"gen",	  "--scale", "S",	  "--seed",  "7",
				   "--residents", nres,	     "--staff",	  nstaff,    "--events",
				   nev,		  "--out",   hi->datadir, "--quiet", NULL};
		if (run_ok(a, NULL) < 0)
			return -1;
	}
	{
		const char *a[] = {"import", hi->dir, hi->datadir, "--quiet", NULL};
		if (run_ok(a, NULL) < 0)
			return -1;
	}
	{
		const char *a[] = {"apikey", "create", hi->dir, "it-tests", "--role", "admin", NULL};
		if (run_ok(a, &out) < 0)
			return -1;
	}
	key = strstr(out.data, "mk_");
	klen = key ? strcspn(key, "\r\n") : 0;
	if (!key || klen == 0 || klen >= sizeof(hi->apikey)) {
		fprintf(stderr, "harness: no key in the output of apikey create: %s\n", out.data);
		buf_release(&out);
		return -1;
	}
	memcpy(hi->apikey, key, klen);
	hi->apikey[klen] = '\0';
	buf_release(&out);
	return 0;
}

int h_serve_start(struct h_instance *hi)
{
	const char *args[] = {"serve", hi->dir, "--listen", "127.0.0.1:0", NULL};
	char base[512], logpath[600], line[256];
	int64_t deadline = now_ms() + START_SECONDS * 1000;
	size_t used = 0;
	int out_r = -1, logfd;
	pid_t pid;

	if (hi->pid > 0)
		return -1;
	base_of(hi, base, sizeof(base));
	snprintf(logpath, sizeof(logpath), "%s/serve.log", base);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid = spawn(args, NULL, &out_r, NULL, logfd);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0)
		return -1;
	/* Read stdout up to the first newline: "listening on http://H:P". */
	while (used < sizeof(line) - 1) {
		struct pollfd p = {out_r, POLLIN, 0};
		ssize_t n;
		int k = poll(&p, 1, remaining_ms(deadline));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n = read(out_r, line + used, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (line[used] == '\n')
			break;
		used++;
	}
	line[used] = '\0';
	close(out_r);
	{
		const char *pre = "listening on http://127.0.0.1:";
		int64_t port;
		if (strncmp(line, pre, strlen(pre)) != 0 ||
		    parse_i64(line + strlen(pre), strlen(line + strlen(pre)), 1, 65535, &port) <
			0) {
			fprintf(stderr, "harness: server did not start (said '%s'); see %s\n", line,
				logpath);
			kill_and_reap(pid);
			return -1;
		}
		hi->port = (uint16_t)port;
	}
	hi->pid = pid;
	return 0;
}

int h_serve_stop(struct h_instance *hi)
{
	int rc;

	if (hi->pid <= 0)
		return -1;
	kill(hi->pid, SIGTERM);
	rc = wait_child(hi->pid, STOP_SECONDS * 1000);
	if (rc == -2) {
		fprintf(stderr, "harness: server did not stop on SIGTERM; killed\n");
		rc = kill_and_reap(hi->pid);
	}
	hi->pid = 0;
	hi->port = 0;
	return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void h_instance_free(struct h_instance *hi)
{
	char base[512];

	if (hi->pid > 0)
		h_serve_stop(hi);
	if (!hi->dir[0])
		return;
	base_of(hi, base, sizeof(base));
	if (getenv("MAMORI_KEEP_TEST_DIRS"))
		fprintf(stderr, "harness: kept %s\n", base);
	else if (base[0])
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	memset(hi, 0, sizeof(*hi));
}

/* ---- HTTP ---- */

static bool has_header(const char *block, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = block; p && *p;) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return false;
}

/* Parse "HTTP/1.x NNN ...", the header block and the body (by
 * Content-Length, else everything up to the end of the connection). */
static int parse_response(const struct buf *raw, struct h_resp *resp, bool complete_only,
			  bool *done)
{
	const char *end, *data = raw->data;
	size_t hlen;
	int64_t status, clen = -1;
	char v[32];

	*done = false;
	if (!data)
		return -1;
	end = memmem(data, raw->len, "\r\n\r\n", 4);
	if (!end)
		return -1;
	hlen = (size_t)(end - data) + 2;
	if (raw->len < 12 || memcmp(data, "HTTP/1.", 7) != 0 ||
	    parse_i64(data + 9, 3, 100, 599, &status) < 0)
		return -1;
	buf_reset(&resp->headers);
	buf_reset(&resp->body);
	if (buf_append(&resp->headers, data, hlen) < 0)
		return -1;
	resp->status = (int)status;
	if (h_resp_header(resp, "Content-Length", v, sizeof(v)) == 0 &&
	    parse_i64(v, strlen(v), 0, (int64_t)RESPONSE_MAX, &clen) < 0)
		return -1;
	{
		size_t have = raw->len - hlen - 2;
		if (clen >= 0) {
			if (have < (size_t)clen)
				return complete_only ? -1 : 0;
			have = (size_t)clen;
		} else if (complete_only) {
			return -1;
		}
		if (buf_append(&resp->body, end + 4, have) < 0)
			return -1;
	}
	*done = clen >= 0;
	return 0;
}

int h_http(uint16_t port, const char *method, const char *path, const char *extra_headers,
	   const char *body, size_t body_len, struct h_resp *resp)
{
	struct sockaddr_in a;
	struct buf req, raw;
	int64_t deadline = now_ms() + HTTP_SECONDS * 1000;
	size_t sent = 0;
	bool sending = true, done = false, eof = false;
	int fd = -1, r = -1;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->headers, RESPONSE_MAX);
	buf_init(&resp->body, RESPONSE_MAX);
	buf_init(&req, (size_t)1 << 30);
	buf_init(&raw, RESPONSE_MAX + 65536);
	signal(SIGPIPE, SIG_IGN);
	extra_headers = extra_headers ? extra_headers : "";
	if (buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s",
		       method, path, (unsigned)port, extra_headers) < 0)
		goto out;
	/* A body is JSON unless the caller says otherwise; chunked bodies
	 * come already encoded from the caller. */
	if (body && !has_header(extra_headers, "Content-Type") &&
	    buf_puts(&req, "Content-Type: application/json\r\n") < 0)
		goto out;
	if (body && !has_header(extra_headers, "Transfer-Encoding") &&
	    !has_header(extra_headers, "Content-Length") &&
	    buf_printf(&req, "Content-Length: %zu\r\n", body_len) < 0)
		goto out;
	if (buf_puts(&req, "\r\n") < 0 || (body && buf_append(&req, body, body_len) < 0))
		goto out;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		struct pollfd p = {fd, POLLOUT, 0};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (errno != EINPROGRESS || poll(&p, 1, remaining_ms(deadline)) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
			goto out;
	}
	/*
	 * Send and read at once: a server that answers early (413 on the
	 * declared length, 401 before the body) stops reading, and a client
	 * that insisted on sending everything first would wait forever.
	 */
	while (!eof && !done) {
		struct pollfd p = {fd, (short)(POLLIN | (sending ? POLLOUT : 0)), 0};
		int k = poll(&p, 1, remaining_ms(deadline));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "harness: %s %s: no response within %d s\n", method, path,
				HTTP_SECONDS);
			goto out;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			char chunk[65536];
			ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				eof = true;
				break;
			}
			sending = false;
			if (buf_append(&raw, chunk, (size_t)n) < 0)
				goto out;
			if (parse_response(&raw, resp, false, &done) < 0)
				done = false;
			continue;
		}
		if (sending && (p.revents & POLLOUT)) {
			ssize_t n = send(fd, req.data + sent, req.len - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				sending = false; /* the server closed: read what it said */
			else if (n > 0 && (sent += (size_t)n) == req.len)
				sending = false;
		}
	}
	if (parse_response(&raw, resp, false, &done) < 0) {
		fprintf(stderr, "harness: %s %s: no valid HTTP response (%zu bytes)\n", method,
			path, raw.len);
		goto out;
	}
	if (buf_append(&resp->body, "", 0) < 0 || buf_append(&resp->headers, "", 0) < 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&req);
	buf_release(&raw);
	if (r < 0) {
		buf_release(&resp->headers);
		buf_release(&resp->body);
		resp->status = 0;
	}
	return r;
}

int h_http_auth(struct h_instance *hi, const char *method, const char *path, const char *body,
		size_t body_len, struct h_resp *resp)
{
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", hi->apikey);
	return h_http(hi->port, method, path, hdr, body, body_len, resp);
}

void h_resp_release(struct h_resp *r)
{
	buf_release(&r->headers);
	buf_release(&r->body);
}

int h_resp_header(const struct h_resp *r, const char *name, char *out, size_t outlen)
{
	const char *p = r->headers.data, *end;
	size_t n = strlen(name);

	if (!p)
		return -1;
	/* Skip the status line. */
	p = strstr(p, "\r\n");
	while (p && (p += 2) && *p) {
		end = strstr(p, "\r\n");
		if (!end)
			break;
		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vl;
			while (*v == ' ' || *v == '\t')
				v++;
			vl = (size_t)(end - v);
			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= outlen)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}

/*
 * fileio.c - see fileio.h.
 */
#include "base/base.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"

int file_read_all(const char *path, size_t max, struct buf *out)
{
	char chunk[16384];
	int r = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	buf_reset(out);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			r = ERR_TOO_LARGE;
			break;
		}
		if ((r = buf_append(out, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	if (r == 0 && !out->data)
		r = buf_append(out, "", 0);
	return r;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4200], dir[4200];
	const char *slash;
	size_t off = 0;
	int fd, dfd, r = 0, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ERR_TOO_LARGE;
	slash = strrchr(path, '/');
	n = slash ? snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path)
		  : snprintf(dir, sizeof(dir), ".");
	if (n < 0 || (size_t)n >= sizeof(dir))
		return ERR_TOO_LARGE;
	if (!dir[0])
		memcpy(dir, "/", 2);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return ERR_IO;
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = ERR_IO;
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && fsync(fd) != 0)
		r = ERR_IO;
	if (close(fd) != 0 && r == 0)
		r = ERR_IO;
	if (r == 0 && rename(tmp, path) != 0)
		r = ERR_IO;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		r = ERR_IO;
	if (dfd >= 0)
		close(dfd);
	return r;
}

int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int fd_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ERR_IO;
		if (r == 0)
			return ERR_CORRUPT;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * fileio.h - whole small files: read one into a bounded buffer, replace one
 * atomically; and the loops that read or write n bytes at an offset
 * whatever the kernel hands back per call. Shared by the instance, the
 * ledger, the registry image, the server and the CLI.
 */
#ifndef MAMORI_FILEIO_H
#define MAMORI_FILEIO_H

#include <sys/types.h>

#include "base/base.h"

struct buf;

/* Read the whole file path (at most max bytes) into out, replacing its
 * contents (out->data is "" for an empty file). ERR_NOT_FOUND when it does
 * not exist, ERR_TOO_LARGE past max, ERR_IO otherwise. */
MM_WUR int file_read_all(const char *path, size_t max, struct buf *out);

/* Replace path with data: a temporary file beside it, fsync, rename, then
 * fsync of the directory, so that a crash leaves the old or the new file,
 * never a mix. The temporary file is removed on failure. */
MM_WUR int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Write all n bytes of p at offset off of fd (pwrite again after a short
 * write or EINTR): 0, or ERR_IO. */
MM_WUR int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* Read exactly n bytes at offset off of fd: 0; ERR_CORRUPT when the file
 * ends first; ERR_IO. */
MM_WUR int fd_pread_all(int fd, void *p, size_t n, uint64_t off);

#endif

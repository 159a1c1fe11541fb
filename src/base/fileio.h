/*
 * fileio.h - whole small files: read one into a bounded buffer, replace one
 * atomically. Shared by the instance, the ledger, the server and the CLI.
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

#endif

/*
 * instance_int.h - private to src/instance/ and its tests.
 */
#ifndef MAMORI_INSTANCE_INT_H
#define MAMORI_INSTANCE_INT_H

#include "base/base.h"
#include "instance/instance.h"

struct buf;
struct diag;

/* Parse the text of mamori.conf; name is used in messages. */
MM_WUR int instance_config_parse(const char *name, const char *text, size_t len,
				 struct instance_config *c, struct diag *d);
/* Read a whole file of at most max bytes into out (NUL-terminated). */
MM_WUR int instance_read_file(const char *path, size_t max, struct buf *out);

#endif

/*
 * store_int.h - private to src/store/: the backend operations table and the
 * embedded migrations. Nothing outside src/store/ includes this file.
 */
#ifndef MAMORI_STORE_INT_H
#define MAMORI_STORE_INT_H

#include <stddef.h>

/* One numbered schema migration, embedded from migrations/NNN_name.sql
 * by tools/embed.sh at build time. */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

#endif

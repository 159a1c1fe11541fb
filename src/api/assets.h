/*
 * assets.h - the console's static files (console/ in the source tree),
 * embedded in the binary at build time by tools/embed.sh, so that a city
 * hall's closed network needs nothing but the mamori binary: no CDN, no
 * external font or script.
 */
#ifndef MAMORI_ASSETS_H
#define MAMORI_ASSETS_H

#include <stddef.h>

struct embedded_asset {
	const char *name; /* the file's basename: "app.js" */
	const unsigned char *data;
	size_t len;
};

extern const struct embedded_asset embedded_assets[];
extern const size_t embedded_assets_count;

#endif

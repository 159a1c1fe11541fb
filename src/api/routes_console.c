/*
 * routes_console.c - the web console's static files (console/), served
 * by mamori serve itself from the binary (api/assets.h). The files are
 * public: everything they show comes from the API, which checks the
 * session and the role of the user on every request.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "api/api_int.h"
#include "api/assets.h"

/* The pages may load only what mamori serves itself, never run inline
 * script, and never be framed (clickjacking). */
#define CONSOLE_CSP                                                                         \
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "   \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "          \
	"form-action 'self'; frame-ancestors 'none'"

static const char *media_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html"))
		return "text/html; charset=utf-8";
	if (!strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (!strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (!strcmp(dot, ".svg"))
		return "image/svg+xml";
	return "application/octet-stream";
}

static const struct embedded_asset *asset_find(const char *name)
{
	for (size_t i = 0; i < embedded_assets_count; i++)
		if (!strcmp(embedded_assets[i].name, name))
			return &embedded_assets[i];
	return NULL;
}

static int serve_asset(const char *name, struct api_reply *rep)
{
	const struct embedded_asset *a = asset_find(name);
	int r;

	if (!a)
		return api_reply_problem(rep, ERR_NOT_FOUND,
					 T("コンソールにファイル '%.100s' はありません",
					   "the console has no file '%.100s'"),
					 name);
	if ((r = buf_append(&rep->body, a->data, a->len)) < 0)
		return r;
	rep->status = 200;
	rep->ctype = media_type(name);
	if ((r = api_reply_header(rep, "Content-Security-Policy", CONSOLE_CSP)) < 0 ||
	    (r = api_reply_header(rep, "X-Frame-Options", "DENY")) < 0 ||
	    (r = api_reply_header(rep, "Referrer-Policy", "no-referrer")) < 0)
		return r;
	return 0;
}

static int h_root(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	(void)s;
	(void)rq;
	rep->status = 302;
	rep->ctype = "text/plain; charset=utf-8";
	if (buf_puts(&rep->body, "/console/\n") < 0)
		return ERR_NOMEM;
	return api_reply_header(rep, "Location", "/console/");
}

static int h_index(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	(void)s;
	(void)rq;
	return serve_asset("index.html", rep);
}

static int h_file(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	(void)s;
	return serve_asset(api_param(rq, 0), rep);
}

static const struct api_route routes[] = {
    {"GET", "/", h_root, 0, API_BODY_NONE},
    {"GET", "/console/", h_index, 0, API_BODY_NONE},
    {"GET", "/console/{}", h_file, 0, API_BODY_NONE},
};

const struct api_route_table api_routes_console = {routes, ARRAY_SIZE(routes)};

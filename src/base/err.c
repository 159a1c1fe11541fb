#include "base/base.h"
#include "base/i18n.h"

struct err_info {
	int code;
	int http;
	const char *name;
	const char *en;
	const char *ja;
};

static const struct err_info err_table[] = {
#define ERR_ROW(n, str, val, http, en, ja) {val, http, str, en, ja},
	ERR_LIST(ERR_ROW)
#undef ERR_ROW
};

static const struct err_info *err_find(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
		if (err_table[i].code == code)
			return &err_table[i];
	return NULL;
}

const char *err_name(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->name : "unknown";
}

const char *err_msg_en(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->en : "unknown error";
}

const char *err_msg_ja(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->ja : "不明なエラー";
}

const char *err_msg(int code)
{
	return i18n_is_ja() ? err_msg_ja(code) : err_msg_en(code);
}

int err_http_status(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->http : 500;
}

/*
 * err.h - the one error type of mamori.
 *
 * Functions return 0 on success or a negative ERR_* code. ERR_LIST is the
 * single source of the codes, their stable names (used in JSON problem
 * documents and logs), their HTTP status, and their messages in English and
 * Japanese, so that these never drift apart.
 */
#ifndef MAMORI_ERR_H
#define MAMORI_ERR_H

/* X(NAME, "name", value, http_status, english, japanese) */
#define ERR_LIST(X)                                                                   \
	X(OK, "ok", 0, 200, "ok", "成功")                                                     \
	X(NOMEM, "nomem", -1, 500, "out of memory", "メモリ不足")                                \
	X(IO, "io", -2, 500, "input/output error", "入出力エラー")                            \
	X(INVALID, "invalid", -3, 400, "invalid input", "入力が不正です")                          \
	X(NOT_FOUND, "not_found", -4, 404, "not found", "見つかりません")                            \
	X(EXISTS, "exists", -5, 409, "already exists", "既に存在します")                          \
	X(TOO_LARGE, "too_large", -6, 413, "input too large", "入力が大きすぎます")                  \
	X(OVERFLOW, "overflow", -7, 400, "number out of range", "数値が範囲外です")                 \
	X(UNAUTHORIZED, "unauthorized", -8, 401, "authentication required",                           \
	  "認証が必要です")                                                             \
	X(FORBIDDEN, "forbidden", -9, 403, "not allowed", "権限がありません")                        \
	X(DB, "db", -10, 500, "database error", "データベースエラー")                         \
	X(CRYPTO, "crypto", -11, 500, "cryptographic failure", "暗号処理エラー")                  \
	X(POLICY, "policy", -12, 422, "policy is not valid", "ポリシーが不正です")                \
	X(UNSUPPORTED, "unsupported", -13, 415, "unsupported media type",                            \
	  "サポートされていない形式です")                                               \
	X(TIMEOUT, "timeout", -14, 408, "timed out", "タイムアウトしました")                       \
	X(CORRUPT, "corrupt", -15, 500, "stored data is corrupt", "保存データが破損しています")    \
	X(BUSY, "busy", -16, 503, "busy, try again", "混雑しています。再試行してください")      \
	X(METHOD, "method", -17, 405, "method not allowed", "許可されていないメソッドです")       \
	X(SCHEMA, "schema", -18, 500, "database schema is newer than this program",             \
	  "データベースのスキーマがこのプログラムより新しいです")                      \
	X(USAGE, "usage", -19, 2, "wrong command usage", "コマンドの使い方が誤っています")       \
	X(INTERNAL, "internal", -20, 500, "internal error", "内部エラー")                        \
	X(CONFLICT, "conflict", -21, 409, "conflicts with the current state of the record",    \
	  "レコードの現在の状態と競合しています(他の変更があります)")                \
	X(ARCHIVED, "archived", -22, 410, "archived, and the archive is not reachable",         \
	  "保管先に移されており、保管先に到達できません")

enum err {
#define ERR_ENUM(name, str, val, http, en, ja) ERR_##name = (val),
	ERR_LIST(ERR_ENUM)
#undef ERR_ENUM
};

/* Stable lower-case name of a code, e.g. "not_found"; "unknown" if none. */
const char *err_name(int code);
/* Message in the current language (see i18n.h). */
const char *err_msg(int code);
const char *err_msg_en(int code);
const char *err_msg_ja(int code);
/* HTTP status for a code (500 for unknown codes). */
int err_http_status(int code);

#endif

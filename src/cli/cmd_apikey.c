/*
 * cmd_apikey.c - `mamori apikey create|list|revoke DIR [NAME]`: the API
 * keys of the business systems that call the HTTP API.
 */
#include <pwd.h>
#include <unistd.h>

#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "api/api.h"
#include "cli/cli.h"
#include "instance/instance.h"

static void apikey_usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori apikey create DIR NAME [--role ROLE] [--dept DEPT]\n"
	      "        mamori apikey list DIR\n"
	      "        mamori apikey revoke DIR NAME\n"
	      "  create  NAME（英数字と記号 1-64 文字、空白なし）の API キーを作り、標準出力に\n"
	      "          一度だけ表示します。保存されるのはハッシュだけで、再表示はできません。\n"
	      "          --role はキーの役割（既定 system＝業務システム）: system, witness,\n"
	      "          admin, ciso, csirt, dept_manager, auditor, personnel。\n"
	      "          dept_manager には --dept（所属 ID）が必要で、その所属だけを扱えます\n"
	      "  list    キーの名前、ID、作成日時、失効日時を表示します（キーそのものは出ません）\n"
	      "  revoke  NAME のキーを失効させます。名前は再利用できません\n"
	      "  作成と失効は台帳（ledger）に記録されます。mamori serve の動作中でも実行でき、\n"
	      "  サーバは次の要求から新しい状態で API キーを検証します。\n"
	      "終了コード: 0 成功、1 失敗（名前の重複、該当なしなど）、2 使い方の誤り\n",
	      "usage: mamori apikey create DIR NAME\n"
	      "       mamori apikey list DIR\n"
	      "       mamori apikey revoke DIR NAME\n"
	      "  create  makes an API key named NAME (1-64 visible ASCII characters, no\n"
	      "          spaces) and prints it once on stdout. Only a hash is stored: it\n"
	      "          cannot be shown again.\n"
	      "          --role is what the key may do (default system, a business\n"
	      "          system): system, witness, admin, ciso, csirt, dept_manager,\n"
	      "          auditor, personnel. dept_manager needs --dept (a department\n"
	      "          id) and is limited to that department\n"
	      "  list    shows each key's name, id, creation and revocation time (never the key)\n"
	      "  revoke  revokes the key named NAME; the name cannot be used again\n"
	      "  Creation and revocation are recorded in the ledger. They work while\n"
	      "  mamori serve runs: it checks keys against the database on every request.\n"
	      "exit status: 0 success, 1 failure (duplicate name, no such key, ...), 2 usage "
	      "error\n"));
}

static void actor_name(char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];
	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(out, len, "cli:%s", res->pw_name);
	else
		snprintf(out, len, "cli:%u", (unsigned)getuid());
}

/* Print s left-aligned in a column of width cells, counting non-ASCII
 * characters (here: Japanese) as two cells, as terminals do. */
static void cell(const char *s, int width)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x80)
			w++;
		else if ((*p & 0xc0) != 0x80)
			w += 2;
	printf("%s%*s", s, width > w ? width - w : 0, "");
}

static int print_key(const struct apikey_info *k, void *arg)
{
	(void)arg;
	cell(k->name, 25);
	cell(k->id, 13);
	cell(k->created, 26);
	cell(k->revoked[0] ? k->revoked : T("有効", "active"), 26);
	printf("%s%s%s\n", role_name(k->role), k->dept[0] ? ":" : "", k->dept);
	return 0;
}

static int do_create(struct instance *in, const char *name, const char *role_s,
		     const char *dept, const char *actor)
{
	char key[APIKEY_TEXT_MAX];
	unsigned role = ROLE_SYSTEM;
	int r;

	if (role_s && role_parse(role_s, &role) < 0) {
		cli_error(T("役割 '%s' はありません（使えるもの: %s）",
			    "no such role '%s' (roles: %s)"),
			  role_s, role_names_all());
		return EXIT_USAGE;
	}
	if (role == ROLE_DEPT_MANAGER && (!dept || !*dept)) {
		cli_error("%s", T("dept_manager のキーには --dept（所属 ID）が必要です",
				  "a dept_manager key needs --dept (a department id)"));
		return EXIT_USAGE;
	}
	if (role != ROLE_DEPT_MANAGER && dept) {
		cli_error("%s", T("--dept は dept_manager のキーにだけ指定できます",
				  "--dept applies only to a dept_manager key"));
		return EXIT_USAGE;
	}
	r = apikey_create(instance_store(in), instance_ledger(in), name, role, dept, actor, key);

	if (r == ERR_INVALID && dept) {
		cli_error(T("所属 ID '%s' が不正です（英数字と記号 1-32 文字）",
			    "bad department id '%s' (1-32 visible ASCII characters)"),
			  dept);
		return EXIT_USAGE;
	}
	if (r == ERR_INVALID) {
		cli_error(T("キーの名前 '%s' が不正です（英数字と記号 1-64 文字、空白なし）",
			    "bad key name '%s' (1-64 visible ASCII characters, no spaces)"),
			  name);
		return EXIT_USAGE;
	}
	if (r == ERR_EXISTS) {
		cli_error(T("名前 '%s' のキーは既にあります（失効済みの名前も再利用できません）",
			    "a key named '%s' already exists (names of revoked keys stay taken)"),
			  name);
		return EXIT_FAIL;
	}
	if (r < 0) {
		cli_error(T("キーを作成できません: %s", "cannot create the key: %s"), err_msg(r));
		return EXIT_FAIL;
	}
	/* The key alone on stdout, so that KEY=$(mamori apikey create ...)
	 * captures it; the note goes to stderr. */
	printf("%s\n", key);
	fflush(stdout);
	mem_wipe(key, sizeof(key));
	fprintf(stderr, "%s",
		T("この API キーは二度と表示されません。今すぐ安全な場所に保管してください。\n"
		  "呼び出し側は「Authorization: Bearer <キー>」ヘッダーで送ります。\n",
		  "This API key will not be shown again: store it safely now.\n"
		  "Callers send it in an 'Authorization: Bearer <key>' header.\n"));
	return EXIT_OK;
}

int cmd_apikey(int argc, char **argv)
{
	const char *help = NULL, *role = NULL, *dept = NULL;
	struct cli_opt opts[] = {{"help", false, &help}, {"role", true, &role}, {"dept", true, &dept}};
	struct instance *in = NULL;
	char *pos[3], actor[160];
	struct diag d;
	int n, r, rc = EXIT_FAIL;
	bool list;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 3);
	if (help && n >= 0) {
		apikey_usage(stdout);
		return EXIT_OK;
	}
	if (n < 2) {
		apikey_usage(stderr);
		return EXIT_USAGE;
	}
	list = !strcmp(pos[0], "list");
	if ((list && n != 2) || (!list && (n != 3 || (strcmp(pos[0], "create") != 0 &&
						      strcmp(pos[0], "revoke") != 0)))) {
		apikey_usage(stderr);
		return EXIT_USAGE;
	}
	diag_init(&d, 50);
	if ((r = instance_open(pos[1], list ? INSTANCE_READ_ONLY : INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		goto out;
	}
	actor_name(actor, sizeof(actor));
	if (list) {
		cell(T("名前", "name"), 25);
		cell("id", 13);
		cell(T("作成", "created"), 26);
		cell(T("失効", "revoked"), 26);
		printf("%s\n", T("役割", "role"));
		if ((r = apikey_list(instance_store(in), print_key, NULL)) < 0) {
			cli_error(T("一覧を取得できません: %s", "cannot list the keys: %s"),
				  err_msg(r));
			goto out;
		}
		rc = EXIT_OK;
	} else if (!strcmp(pos[0], "create")) {
		rc = do_create(in, pos[2], role, dept, actor);
	} else {
		r = apikey_revoke(instance_store(in), instance_ledger(in), pos[2], actor);
		if (r == ERR_NOT_FOUND) {
			cli_error(
			    T("有効な API キー '%s' はありません", "no active API key named '%s'"),
			    pos[2]);
			goto out;
		}
		if (r < 0) {
			cli_error(T("キーを失効できません: %s", "cannot revoke the key: %s"),
				  err_msg(r));
			goto out;
		}
		printf(T("API キー '%s' を失効させました\n", "revoked API key '%s'\n"), pos[2]);
		rc = EXIT_OK;
	}
out:
	instance_close(in);
	diag_release(&d);
	return rc;
}

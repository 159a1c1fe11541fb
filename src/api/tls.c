/*
 * tls.c - the certificate and key of `mamori serve --tls-cert --tls-key`
 * (api_int.h, docs/console-auth.md "TLS").
 */
#include <sys/stat.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "api/api_int.h"

#define PEM_MAX ((size_t)1 << 20)

int api_tls_load(const char *cert_path, const char *key_path, char **cert, char **key)
{
	struct buf c, k;
	struct stat sb;
	int r;

	*cert = *key = NULL;
	buf_init(&c, PEM_MAX);
	buf_init(&k, PEM_MAX);
	if (!cert_path || !key_path) {
		log_error("%s", T("--tls-cert と --tls-key は両方指定してください",
				  "give both --tls-cert and --tls-key"));
		r = ERR_INVALID;
		goto out;
	}
	/* The key must be the owner's alone: a key others can read is a key
	 * others may have, and the server would be serving a lie. */
	if (stat(key_path, &sb) < 0) {
		log_error("%s: %s", key_path, strerror(errno));
		r = ERR_NOT_FOUND;
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		log_error(T("%s: 秘密鍵のファイルはモード 0600 以下にしてください（現在 %04o）。"
			    "chmod 600 %s",
			    "%s: the key file must be mode 0600 or stricter (it is %04o); run "
			    "chmod 600 %s"),
			  key_path, (unsigned)(sb.st_mode & 07777), key_path);
		r = ERR_FORBIDDEN;
		goto out;
	}
	if ((r = file_read_all(cert_path, PEM_MAX, &c)) < 0) {
		log_error("%s: %s", cert_path, err_msg(r));
		goto out;
	}
	if ((r = file_read_all(key_path, PEM_MAX, &k)) < 0) {
		log_error("%s: %s", key_path, err_msg(r));
		goto out;
	}
	if (!strstr(c.data, "-----BEGIN CERTIFICATE-----")) {
		log_error("%s: %s", cert_path,
			  T("PEM 形式の証明書ではありません", "not a PEM certificate"));
		r = ERR_INVALID;
		goto out;
	}
	if (!strstr(k.data, "-----BEGIN ") || !strstr(k.data, "PRIVATE KEY-----")) {
		log_error("%s: %s", key_path,
			  T("PEM 形式の秘密鍵ではありません", "not a PEM private key"));
		r = ERR_INVALID;
		goto out;
	}
	*cert = buf_detach(&c, NULL);
	*key = buf_detach(&k, NULL);
	r = 0;
out:
	if (k.data)
		mem_wipe(k.data, k.cap);
	buf_release(&c);
	buf_release(&k);
	return r;
}

void api_tls_free(char *cert, char *key)
{
	free(cert);
	if (key) {
		mem_wipe(key, strlen(key));
		free(key);
	}
}

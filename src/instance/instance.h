/*
 * instance.h - a mamori instance: the directory that holds everything one
 * municipality's mamori knows (DESIGN.md "Instance directory"):
 *
 *   DIR/mamori.conf      configuration (key = value, docs/config.md)
 *   DIR/mamori.db        the SQLite database
 *   DIR/policy.yaml      the policy file
 *   DIR/keys/signing.key Ed25519 secret key (mode 0600)
 *   DIR/keys/signing.pub Ed25519 public key
 *   DIR/ledger/          the audit ledger
 *
 * struct instance is the composition root that the CLI and the API share:
 * both call the same functions here, so that what one can do the other can
 * and tests cover both through one path.
 */
#ifndef MAMORI_INSTANCE_H
#define MAMORI_INSTANCE_H

#include "base/base.h"

struct buf;
struct diag;
struct store;
struct ledger;
struct policy_engine;

struct instance_config {
	char name[256];         /* the municipality, e.g. 札幌市 */
	char listen[128];       /* host:port, default 127.0.0.1:8080 */
	char database[1024];    /* path relative to DIR, or a URL */
	char policy[1024];      /* path relative to DIR */
	unsigned threads;       /* HTTP worker threads, default 4 */
	size_t max_body;        /* bytes, default 8 MiB */
	unsigned timeout_sec;   /* per connection, default 30 */
	uint64_t checkpoint_entries; /* checkpoint every N records, default 1000 */
	unsigned checkpoint_seconds; /* or every T seconds, default 60 */
	/* The console's sign-in (docs/console-auth.md). */
	unsigned session_idle;	      /* seconds a session may go unused, default 1800 */
	unsigned session_max;	      /* seconds a session lasts at most, default 43200 */
	unsigned login_lock_failures; /* failures in a row that lock a login, default 5 */
	unsigned login_lock_seconds;  /* for this long, default 900 */
	unsigned login_ip_failures;   /* failed sign-ins per address per window, default 20 */
	unsigned login_ip_window;     /* that window in seconds, default 600 */
	uint64_t segment_entries;    /* records per ledger segment file, default 2^20 */
};

struct instance;

/* Create DIR (which must not exist, or be an empty folder). name may be
 * NULL. Refuses an existing instance with ERR_EXISTS. */
MM_WUR int instance_init(const char *dir, const char *name, struct diag *d);

enum instance_flags {
	INSTANCE_READ_ONLY = 0,
	INSTANCE_WRITE = 1 << 0,  /* open the ledger for appending */
	INSTANCE_ENGINE = 1 << 1, /* load policy and registry into a decider */
};

MM_WUR int instance_open(const char *dir, unsigned flags, struct instance **out,
			 struct diag *d);
void instance_close(struct instance *in); /* NULL is a no-op */

const char *instance_dir(const struct instance *in);
const struct instance_config *instance_config(const struct instance *in);
/* The instance's own store connection (for the opening thread only). */
struct store *instance_store(struct instance *in);
/* A new connection for another thread; the caller closes it. */
MM_WUR int instance_store_open(struct instance *in, struct store **out);
struct ledger *instance_ledger(struct instance *in);
struct policy_engine *instance_engine(struct instance *in);
struct watch_thresholds;
struct diag;
/*
 * The thresholds of the watch rules from the instance's policy file (its
 * watch: section; defaults for what it leaves out). Errors of the file go
 * to d. Any thread.
 */
MM_WUR int instance_watch_thresholds(struct instance *in, struct watch_thresholds *th,
				     struct diag *d);
/* Path of a file inside the instance (e.g. "policy.yaml") into out. */
MM_WUR int instance_path(const struct instance *in, const char *rel, struct buf *out);

/*
 * Re-read the policy file and the registry and install a new decider.
 * If anything fails, the old decider stays and d says why. Recorded in the
 * ledger (kind "reload"). Thread-safe.
 */
MM_WUR int instance_reload(struct instance *in, const char *actor, struct diag *d);

/*
 * The decision contract in one call: parse the request JSON, decide on the
 * current decider, record it in the ledger, render the response JSON into
 * out. *decision receives DECISION_ALLOW or DECISION_DENY. A malformed
 * request gives ERR_INVALID/ERR_TOO_LARGE with the explanation in out
 * (a plain sentence, not JSON).
 */
MM_WUR int instance_decide(struct instance *in, const char *json, size_t len, const char *actor,
			   struct buf *out, int *decision);

/*
 * The origin line (and key name) of the instance's checkpoints:
 * "mamori/<name>" with spaces (ASCII and ideographic), '+' and control
 * characters of the name replaced by '_'; "mamori/instance" when the name
 * is empty. ERR_TOO_LARGE when it does not fit in cap or NOTE_NAME_MAX.
 */
MM_WUR int instance_origin(const struct instance *in, char *out, size_t cap);
/*
 * Sign a checkpoint of the ledger now with keys/signing.key and store it
 * (ledger_checkpoint). out and size may be NULL. Needs INSTANCE_WRITE.
 * Thread-safe.
 */
MM_WUR int instance_checkpoint(struct instance *in, struct buf *out, uint64_t *size);
/*
 * Sign a checkpoint now, then start the thread that makes one every
 * checkpoint_entries records or checkpoint_seconds seconds (when records
 * were added); instance_checkpoint's errors. _stop (also called
 * by instance_close) makes a last checkpoint when records were added, and
 * joins the thread. ERR_FORBIDDEN without INSTANCE_WRITE.
 */
MM_WUR int instance_checkpointer_start(struct instance *in);
void instance_checkpointer_stop(struct instance *in);

#endif

/*
 * cli.h - the `mamori` command: one file per subcommand (cmd_*.c), each a
 * thin shell over the module functions the API also calls.
 *
 * Exit codes (the same for every subcommand):
 *   0  success (for decide: allow)
 *   1  failure (I/O, database, invalid data that was reported)
 *   2  usage error or a malformed request
 *   3  decide: deny
 */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include "base/base.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_DENY = 3 };

/* Each takes argv after the subcommand name (argv[0] is the subcommand). */
int cmd_init(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_decide(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_apikey(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_witness(int argc, char **argv);
int cmd_disclose(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_user(int argc, char **argv);
/* The ISMS records and the plan workflows (cmd_isms.c). */
int cmd_isms(int argc, char **argv);

/* The ISMS people workflows (cmd_isms_people.c), one function under the
 * names soa, training, notices and contracts: argv[0] is that name. */
int cmd_isms_people(int argc, char **argv);
/* True if KIND VERB ("soa seed", "notices remind", ...) is one of those
 * workflows: `mamori isms DIR KIND VERB ...` may hand it to
 * cmd_isms_people with argv {KIND, DIR, VERB, ...}. */
bool cmd_isms_people_handles(const char *kind, const char *verb);
/* incident, checklists, escalations, indicators, bcp, report (cmd_isms_cycle.c). */
int cmd_isms_cycle(int argc, char **argv);

/* Print an error line "mamori: <msg>" to stderr. */
void cli_error(const char *fmt, ...) MM_PRINTF(1, 2);
/* Who runs the command, for the ledger: "cli:<login name>". */
void cli_actor(char *out, size_t len);
/* True if stderr is a terminal (for progress bars). */
bool cli_stderr_is_tty(void);

/*
 * A tiny option parser over argv: options may come before or after
 * positional arguments; "--name value" and "--name=value" both work;
 * "--" ends options. Unknown options are a usage error.
 */
struct cli_opt {
	const char *name;   /* without the leading "--" */
	bool takes_value;
	const char **value; /* set to the value (or "1" for flags) */
};
/* Returns the number of positional args moved to pos (at most maxpos), or
 * -1 after printing a usage error. */
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t nopts, char **pos,
	      int maxpos);

#endif

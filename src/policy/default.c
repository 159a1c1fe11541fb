/*
 * default.c - the default policy text that `mamori init` writes, embedded
 * at build time from default_policy.yaml (tools/embed.sh).
 */
#include "base/base.h"
#include "policy/policy.h"

extern const char embedded_default_policy[];

const char *policy_default_text(void)
{
	return embedded_default_policy;
}

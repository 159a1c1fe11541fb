/*
 * events.h - the access events the ledger benchmarks append, shared by
 * bench/bench_append.c, bench/bench_verify.c and the SQLite peer
 * (bench/peers/sqlite_append.c) so that every store is given the same
 * bytes.
 *
 * An event has the shape of a line of access.jsonl (FORMATS.md) with the
 * optional fields a business system usually fills in: the terminal, the
 * declared case, the source system's own event id (a UUID), and for a
 * search the Japanese text searched for; the terminal carries its desk's
 * name in Japanese. The average body is about 262 bytes (the record line
 * the ledger makes of it, about 360); the programs measure and print the
 * exact mean of what they appended. Everything is derived from the event number,
 * so a run is reproducible and any event can be rebuilt to check it.
 *
 * Threading: no shared state.
 */
#ifndef MAMORI_BENCH_EVENTS_H
#define MAMORI_BENCH_EVENTS_H

#include "base/base.h"

/* Large enough for any event bench_event() writes. */
#define BENCH_EVENT_MAX 512

/* splitmix64: a good 64-bit mix of the event number (and a PRNG step). */
static inline uint64_t bench_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * 1 to 3 random edits of t[0, tn) (a byte replaced, inserted or deleted,
 * or the text cut) with bytes that matter to JSON and UTF-8; t holds cap
 * bytes. Returns the new length; *rng moves on. For the tests that
 * compare a one-pass scanner with jansson on mutated events.
 */
static inline size_t bench_mutate(uint64_t *rng, char *t, size_t tn, size_t cap)
{
	static const char ins[] = "{}[]\",:\\-.0123456789eE+tfnul \t\x01\x7f\xc3\xa9\xe6\x97\xa5"
				  "\xf0\x9f\x98\x80\xed\xc0\xff";
	int nm = 1 + (int)((*rng = bench_mix(*rng)) % 3);

	for (int q = 0; q < nm; q++) {
		uint64_t x = bench_mix((*rng)++);
		size_t pos = tn ? x % tn : 0;
		int op = (int)((x >> 32) % 4);
		char c = ins[(x >> 40) % (sizeof(ins) - 1)];

		if (op == 0 && tn > 0) {
			t[pos] = c;
		} else if (op == 1 && tn < cap - 1) {
			memmove(t + pos + 1, t + pos, tn - pos);
			t[pos] = c;
			tn++;
		} else if (op == 2 && tn > 0) {
			memmove(t + pos, t + pos + 1, tn - pos - 1);
			tn--;
		} else {
			tn = pos;
		}
	}
	return tn;
}

/*
 * Write event number i as one JSON object (no newline) into out, which
 * holds BENCH_EVENT_MAX bytes; returns its length.
 */
static inline size_t bench_event(uint64_t i, char out[static BENCH_EVENT_MAX])
{
	static const char *const systems[] = {"juki", "tax", "welfare", "nenkin", "docs"};
	static const char *const actions[] = {"view",  "view",	 "view", "update",
					      "print", "search", "view", "export"};
	static const char *const zones[] = {"mynumber", "lgwan", "lgwan", "internet"};
	static const char *const desks[] = {"市民課-窓口", "税務課-2F", "福祉課-相談室",
					    "保険年金課-窓口", "総務課-3F"};
	static const char *const names[] = {"佐藤 花子", "鈴木", "高橋 健太", "田中",
					    "伊藤 美咲", "渡辺", "山本 翔太", "中村 結衣"};
	uint64_t h = bench_mix(i), g = bench_mix(h);
	unsigned sec = (unsigned)(i % 86400);
	const char *action = actions[h % ARRAY_SIZE(actions)];
	bool search = !strcmp(action, "search");
	char resident[40], query[80], kase[40];
	int n;

	if (search) {
		snprintf(resident, sizeof(resident), "null");
		snprintf(query, sizeof(query), ",\"query\":\"%s\"", names[g % ARRAY_SIZE(names)]);
		kase[0] = '\0';
	} else {
		snprintf(resident, sizeof(resident), "\"R%07u\"", (unsigned)(g % 2000000));
		query[0] = '\0';
		snprintf(kase, sizeof(kase), ",\"case_id\":\"C%09u\"",
			 (unsigned)((g >> 24) % 1000000000));
	}
	n = snprintf(out, BENCH_EVENT_MAX,
		     "{\"ts\":\"2026-04-%02uT%02u:%02u:%02u+09:00\",\"staff_id\":\"S%05u\","
		     "\"resident_id\":%s,\"system\":\"%s\",\"action\":\"%s\",\"zone\":\"%s\","
		     "\"terminal\":\"%s-T%05u\"%s%s,\"result\":\"ok\","
		     "\"ref\":\"%s:2026040%u:%08x-%04x-4%03x-%04x-%012llx\"}",
		     1 + (unsigned)(i / 86400 % 28), sec / 3600, sec / 60 % 60, sec % 60,
		     (unsigned)(h >> 40) % 5000, resident, systems[(h >> 8) % ARRAY_SIZE(systems)],
		     action, zones[(h >> 16) % ARRAY_SIZE(zones)],
		     desks[(h >> 48) % ARRAY_SIZE(desks)], (unsigned)(h >> 40) % 5000, kase, query,
		     systems[(h >> 8) % ARRAY_SIZE(systems)], 1 + (unsigned)(i / 86400 % 9),
		     (unsigned)(g >> 32), (unsigned)(g >> 16) & 0xffff, (unsigned)g & 0xfff,
		     (unsigned)(h >> 24) & 0xffff, (unsigned long long)(h & 0xffffffffffffULL));
	if (n < 0 || n >= BENCH_EVENT_MAX)
		BUG("bench_event: event too long");
	return (size_t)n;
}

#endif

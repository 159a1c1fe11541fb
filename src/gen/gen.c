/*
 * gen.c - the synthetic municipality: people, departments, cases, and a
 * day-by-day stream of access events with injected, labelled misuse.
 *
 * Memory is proportional to residents and staff (compact arrays), and to
 * one day of events, never to the whole period: each day's events are
 * generated into a chunk, sorted, written, and the chunk is reused.
 */
#include "base/base.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "gen/gen.h"
#include "gen/gen_int.h"

#define WBUF_CAP ((size_t)1 << 20)
#define OFFICE_OPEN (8 * 3600 + 45 * 60)
#define OFFICE_CLOSE (17 * 3600 + 30 * 60)
#define NONE32 UINT32_MAX
#define RING 64

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, n); n > 0. The multiply-shift bias is far below what
 * matters for synthetic data. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(struct rng *r, double p)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53 < p;
}

/* ---- the model ---- */

enum sys { SYS_JUKI, SYS_TAX, SYS_WELFARE, SYS_NENKIN, SYS_DOCS, SYS_N };
static const struct {
	const char *id, *name, *zone, *conf, *integ, *avail;
} systems[SYS_N] = {
	{"juki", "住民記録システム", "mynumber", "3B", "2", "2"},
	{"tax", "税務システム", "mynumber", "3B", "2", "2"},
	{"welfare", "福祉システム", "mynumber", "3B", "2", "2"},
	{"nenkin", "国保年金システム", "mynumber", "3B", "2", "2"},
	{"docs", "文書管理システム", "lgwan", "2", "2", "1"},
};

enum act { A_SEARCH, A_VIEW, A_UPDATE, A_PRINT, A_EXPORT };
static const char *const act_names[] = {"search", "view", "update", "print", "export"};

enum dtype { DT_KUMIN, DT_HOKEN, DT_HOGO, DT_KODOMO, DT_ZEI, DT_SOMU, DT_JOHO, DT_N };
static const struct {
	const char *code, *name;
	unsigned sys;    /* bit mask of enum sys */
	int primary;     /* the system most of the work is done in */
	unsigned weight; /* share of staff */
	const char *kinds[4];
} dtypes[DT_N] = {
	{"KUMIN", "戸籍住民課", 1u << SYS_JUKI | 1u << SYS_DOCS, SYS_JUKI, 30,
	 {"transfer_in", "transfer_out", "certificate", "birth_registration"}},
	{"HOKEN", "保険年金課", 1u << SYS_NENKIN | 1u << SYS_JUKI | 1u << SYS_DOCS, SYS_NENKIN, 18,
	 {"nhi_enrolment", "nhi_premium", "pension_inquiry", "nhi_withdrawal"}},
	{"HOGO", "保護課", 1u << SYS_WELFARE | 1u << SYS_JUKI | 1u << SYS_DOCS, SYS_WELFARE, 14,
	 {"public_assistance", "assistance_review", "home_visit", "assistance_change"}},
	{"KODOMO", "子育て支援課", 1u << SYS_WELFARE | 1u << SYS_JUKI | 1u << SYS_DOCS, SYS_WELFARE,
	 12, {"child_allowance", "nursery_application", "child_medical", "child_allowance"}},
	{"ZEI", "市民税課", 1u << SYS_TAX | 1u << SYS_JUKI | 1u << SYS_DOCS, SYS_TAX, 16,
	 {"tax_inquiry", "tax_certificate", "tax_assessment", "tax_reduction"}},
	{"SOMU", "総務課", 1u << SYS_DOCS, SYS_DOCS, 4,
	 {"information_disclosure", "document_request", "information_disclosure",
	  "document_request"}},
	{"JOHO", "情報政策課",
	 1u << SYS_JUKI | 1u << SYS_TAX | 1u << SYS_WELFARE | 1u << SYS_NENKIN | 1u << SYS_DOCS,
	 SYS_JUKI, 6, {"data_correction", "system_inquiry", "data_correction", "system_inquiry"}},
};

static const struct {
	const char *code, *name;
} wards[] = {
	{"CHUO", "中央区"},   {"KITA", "北区"},     {"HIGASHI", "東区"}, {"SHIROISHI", "白石区"},
	{"ATSUBETSU", "厚別区"}, {"TOYOHIRA", "豊平区"}, {"KIYOTA", "清田区"}, {"MINAMI", "南区"},
	{"NISHI", "西区"},    {"TEINE", "手稲区"},
};

enum { RF_DV = 1, RF_VIP = 2, RF_STAFF = 4, RF_NOCASE = 8 };
enum { EMP_REGULAR, EMP_FISCAL, EMP_TEMP, EMP_CONTRACTOR };
static const char *const emp_names[] = {"regular", "fiscal_year", "temporary", "contractor"};
enum { ROLE_CLERK = 1, ROLE_DV = 2, ROLE_EXPORT = 4, ROLE_SYSADMIN = 8 };
enum { SK_NORMAL, SK_UNTRAINED, SK_LEAVER_BAD, SK_LEAVER };

struct res {
	uint32_t hh;
	uint16_t sur, given;
	int32_t birth;
	uint8_t flags;
};

struct hh {
	uint32_t first, addr;
	uint16_t sur;
	uint8_t size;
};

struct casering {
	uint64_t id;
	uint32_t res;
	int64_t closed;
};

struct dept {
	char id[40];
	char name[64];
	int parent; /* index into depts, -1 for none */
	int type;   /* enum dtype, -1 for a ward office or bureau */
	uint32_t first_staff, n_staff;
	struct casering ring[RING];
	uint32_t ring_n, ring_pos;
};

struct staff {
	uint16_t sur, given;
	uint16_t dept;
	uint8_t emp, roles, kind, contractor;
	int32_t start, end, training, pledge;
	uint32_t hh;         /* NONE32 unless a resident */
	uint32_t relative;   /* a household member, NONE32 if none */
	uint32_t neighbour;  /* a resident at the same address, other surname */
	int64_t ot_start, ot_end; /* today's approved overtime, 0 if none */
};

struct ev {
	int64_t ts;
	uint64_t case_id; /* 0: none */
	uint32_t seq, staff, res;
	uint16_t query; /* surname index + 1, 0: none */
	uint8_t sys, act, label;
};

struct wfile {
	FILE *f;
	char *tmp, *path;
	char *buf;
	size_t len;
};

enum { F_SYSTEMS, F_DEPTS, F_STAFF, F_RESIDENTS, F_CASES, F_OVERTIME, F_ACCESS, F_LABELS, F_N };
static const char *const file_names[F_N] = {
	"systems.jsonl", "departments.jsonl", "staff.jsonl", "residents.jsonl",
	"cases.jsonl",   "overtime.jsonl",    "access.jsonl", "labels.jsonl",
};

struct gen {
	struct rng r;
	struct diag *d;
	struct gen_stats *st;
	struct wfile w[F_N];
	bool werr;
	uint32_t *zipf; /* cumulative surname weights */
	uint32_t zipf_total;
	struct res *res;
	uint32_t n_res;
	struct hh *hh;
	uint32_t n_hh;
	uint32_t *by_sur, *sur_first; /* residents grouped by surname */
	struct dept *depts;
	uint32_t n_depts;
	struct staff *staff;
	uint32_t n_staff;
	int32_t *open_days;
	uint32_t n_open;
	int32_t first_day, last_day;
	uint32_t per_day, base;
	uint64_t next_case;
	uint32_t *quiet; /* residents with no case, ever */
	uint32_t n_quiet;
	uint32_t *vip, n_vip, *dv, n_dv;
	/* the current day */
	struct ev *ev;
	size_t n_ev, cap_ev;
	uint32_t seq;
	int32_t day;
	int64_t mid;
	char daytext[DATE_TEXT_MAX];
	uint64_t next_ref;
	/* progress */
	bool progress;
	size_t expect;
	struct timespec t0;
};

/* ---- buffered output ---- */

static void w_flush(struct gen *g, struct wfile *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		g->werr = true;
	w->len = 0;
}

static void w_put(struct gen *g, int fi, const char *s, size_t n)
{
	struct wfile *w = &g->w[fi];
	if (w->len + n > WBUF_CAP)
		w_flush(g, w);
	if (n > WBUF_CAP) {
		if (fwrite(s, 1, n, w->f) != n)
			g->werr = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_s(struct gen *g, int fi, const char *s)
{
	w_put(g, fi, s, strlen(s));
}

MM_PRINTF(3, 4) static void w_f(struct gen *g, int fi, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	BUG_ON(n < 0 || (size_t)n >= sizeof(line));
	w_put(g, fi, line, (size_t)n);
}

/* Zero-padded decimal into out (no NUL); returns the length. */
static size_t fmt_pad(char *out, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return (size_t)n;
}

static void fmt_ts(int64_t ts, char out[static TS_TEXT_MAX])
{
	int64_t l = ts + JST_OFFSET_SEC;
	int64_t day = l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
	int sec = (int)(l - day * 86400);
	char d[DATE_TEXT_MAX];
	date_format((int32_t)day, d);
	size_t n = strnlen(d, 10);
	memcpy(out, d, n);
	out[n++] = 'T';
	n += fmt_pad(out + n, (uint64_t)(sec / 3600), 2);
	out[n++] = ':';
	n += fmt_pad(out + n, (uint64_t)(sec / 60 % 60), 2);
	out[n++] = ':';
	n += fmt_pad(out + n, (uint64_t)(sec % 60), 2);
	memcpy(out + n, "+09:00", 7);
}

/* ---- names and residents ---- */

static uint16_t draw_surname(struct gen *g)
{
	uint32_t x = rng_below(&g->r, g->zipf_total), lo = 0, hi = (uint32_t)gen_n_surnames - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (g->zipf[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (uint16_t)lo;
}

static const char *given_name(uint16_t given)
{
	/* The high bit marks a female name. */
	if (given & 0x8000)
		return gen_given_f[(given & 0x7fff) % gen_n_given_f];
	return gen_given_m[given % gen_n_given_m];
}

static uint16_t draw_given(struct gen *g, bool female)
{
	if (female)
		return (uint16_t)(0x8000 | rng_below(&g->r, (uint32_t)gen_n_given_f));
	return (uint16_t)rng_below(&g->r, (uint32_t)gen_n_given_m);
}

static int build_residents(struct gen *g, uint32_t n)
{
	static const unsigned size_w[6] = {38, 28, 16, 12, 4, 2};
	int32_t ref = g->first_day;
	uint32_t addr = 0;
	g->res = xcalloc(n, sizeof(*g->res));
	g->hh = xcalloc(n, sizeof(*g->hh));
	g->n_res = 0;
	g->n_hh = 0;
	while (g->n_res < n) {
		uint32_t x = rng_below(&g->r, 100), size = 1, acc = 0;
		for (int i = 0; i < 6; i++) {
			acc += size_w[i];
			if (x < acc) {
				size = (uint32_t)i + 1;
				break;
			}
		}
		if (size > n - g->n_res)
			size = n - g->n_res;
		struct hh *h = &g->hh[g->n_hh];
		/* Three households in ten share a building with the one before:
		 * the neighbours of the neighbour check. */
		if (g->n_hh == 0 || !rng_chance(&g->r, 0.3))
			addr++;
		h->first = g->n_res;
		h->addr = addr;
		h->sur = draw_surname(g);
		h->size = (uint8_t)size;
		int head_age = (int)rng_range(&g->r, size == 1 ? 19 : 26, size == 1 ? 90 : 80);
		for (uint32_t k = 0; k < size; k++) {
			struct res *p = &g->res[g->n_res++];
			int age;
			bool female = rng_chance(&g->r, 0.5);
			if (k == 0)
				age = head_age;
			else if (k == 1 && size >= 2 && rng_chance(&g->r, 0.8)) {
				age = head_age + (int)rng_range(&g->r, -5, 5);
				female = true;
			} else {
				age = head_age - (int)rng_range(&g->r, 20, 40);
				if (age < 0)
					age = (int)rng_range(&g->r, 0, 12);
			}
			if (age < 0)
				age = 0;
			p->hh = g->n_hh;
			p->sur = h->sur;
			p->given = draw_given(g, female);
			p->birth = ref - age * 365 - (int32_t)rng_below(&g->r, 365) - age / 4;
		}
		g->n_hh++;
	}
	/* Group residents by surname (a counting sort) for name searches. */
	g->sur_first = xcalloc(gen_n_surnames + 1, sizeof(uint32_t));
	g->by_sur = xcalloc(n, sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++)
		g->sur_first[g->res[i].sur + 1]++;
	for (size_t s = 1; s <= gen_n_surnames; s++)
		g->sur_first[s] += g->sur_first[s - 1];
	{
		uint32_t *fill = xcalloc(gen_n_surnames, sizeof(uint32_t));
		for (uint32_t i = 0; i < n; i++) {
			uint16_t s = g->res[i].sur;
			g->by_sur[g->sur_first[s] + fill[s]++] = i;
		}
		free(fill);
	}
	return 0;
}

static uint32_t random_resident(struct gen *g)
{
	for (int t = 0; t < 64; t++) {
		uint32_t r = rng_below(&g->r, g->n_res);
		if (!(g->res[r].flags & RF_NOCASE))
			return r;
	}
	for (uint32_t r = 0; r < g->n_res; r++)
		if (!(g->res[r].flags & RF_NOCASE))
			return r;
	BUG("no resident without a reservation");
}

/* Mark special residents: VIPs, DV support, a quiet pool that never has a
 * case. Staff households and their neighbours are marked when staff are
 * made. Everything marked RF_NOCASE never gets a case, so that a view of
 * it is misuse by construction. */
static void mark_residents(struct gen *g)
{
	g->n_vip = g->n_res / 2000 < 3 ? 3 : g->n_res / 2000;
	g->n_dv = g->n_res / 500 < 5 ? 5 : g->n_res / 500;
	g->n_quiet = g->n_res / 30 < 20 ? 20 : g->n_res / 30;
	g->vip = xcalloc(g->n_vip, sizeof(uint32_t));
	g->dv = xcalloc(g->n_dv, sizeof(uint32_t));
	g->quiet = xcalloc(g->n_quiet, sizeof(uint32_t));
	for (uint32_t i = 0; i < g->n_vip; i++) {
		uint32_t r = random_resident(g);
		g->res[r].flags |= RF_VIP | RF_NOCASE;
		g->vip[i] = r;
	}
	for (uint32_t i = 0; i < g->n_dv; i++) {
		uint32_t r = random_resident(g);
		g->res[r].flags |= RF_DV | RF_NOCASE;
		g->dv[i] = r;
	}
	for (uint32_t i = 0; i < g->n_quiet; i++) {
		uint32_t r = random_resident(g);
		g->res[r].flags |= RF_NOCASE;
		g->quiet[i] = r;
	}
}

/* ---- departments and staff ---- */

static void build_depts(struct gen *g, uint32_t n_staff)
{
	uint32_t nw = n_staff < 300 ? 1 : n_staff / 250;
	bool tree = nw > 1;
	if (nw > ARRAY_SIZE(wards))
		nw = ARRAY_SIZE(wards);
	g->depts = xcalloc(nw * 5 + 6, sizeof(struct dept));
	g->n_depts = 0;
	int zaisei = -1, somu = -1;
	if (tree) {
		struct dept *d = &g->depts[g->n_depts];
		snprintf(d->id, sizeof(d->id), "D-ZAISEI");
		snprintf(d->name, sizeof(d->name), "財政局");
		d->parent = -1;
		d->type = -1;
		zaisei = (int)g->n_depts++;
		d = &g->depts[g->n_depts];
		/* The bureau, not its 総務課 (which is D-SOMU). */
		snprintf(d->id, sizeof(d->id), "D-SOMUKYOKU");
		snprintf(d->name, sizeof(d->name), "総務局");
		d->parent = -1;
		d->type = -1;
		somu = (int)g->n_depts++;
	}
	for (uint32_t w = 0; w < nw; w++) {
		int wi = -1;
		if (tree) {
			struct dept *d = &g->depts[g->n_depts];
			snprintf(d->id, sizeof(d->id), "D-%s", wards[w].code);
			snprintf(d->name, sizeof(d->name), "%s役所", wards[w].name);
			d->parent = -1;
			d->type = -1;
			wi = (int)g->n_depts++;
		}
		for (int t = DT_KUMIN; t <= DT_KODOMO; t++) {
			struct dept *d = &g->depts[g->n_depts++];
			snprintf(d->id, sizeof(d->id), "D-%s-%s", wards[w].code, dtypes[t].code);
			snprintf(d->name, sizeof(d->name), "%s %s", wards[w].name, dtypes[t].name);
			d->parent = wi;
			d->type = t;
		}
	}
	for (int t = DT_ZEI; t < DT_N; t++) {
		struct dept *d = &g->depts[g->n_depts++];
		snprintf(d->id, sizeof(d->id), "D-%s", dtypes[t].code);
		snprintf(d->name, sizeof(d->name), "%s%s", t == DT_ZEI ? (tree ? "財政局 " : "") :
			 (tree ? "総務局 " : ""), dtypes[t].name);
		d->parent = t == DT_ZEI ? zaisei : somu;
		d->type = t;
	}
}

static void staff_link_home(struct gen *g, struct staff *s)
{
	/* A household of two or more whose building is shared with a
	 * household of another surname, so both relative and neighbour
	 * misuse have a target. */
	for (int t = 0; t < 200; t++) {
		uint32_t h = 1 + rng_below(&g->r, g->n_hh - 2);
		struct hh *H = &g->hh[h];
		uint32_t nb = NONE32;
		if (H->size < 2)
			continue;
		bool taken = false;
		for (uint32_t k = 0; k < H->size; k++)
			if (g->res[H->first + k].flags & RF_NOCASE)
				taken = true;
		if (taken)
			continue;
		for (int dd = -1; dd <= 1; dd += 2) {
			struct hh *N = &g->hh[h + (uint32_t)dd];
			if (N->addr == H->addr && N->sur != H->sur) {
				bool ok = true;
				for (uint32_t k = 0; k < N->size; k++)
					if (g->res[N->first + k].flags & (RF_STAFF | RF_VIP | RF_DV))
						ok = false;
				if (ok)
					nb = N->first;
			}
		}
		if (nb == NONE32)
			continue;
		for (uint32_t k = 0; k < H->size; k++)
			g->res[H->first + k].flags |= RF_STAFF | RF_NOCASE;
		for (uint32_t k = 0; k < g->hh[g->res[nb].hh].size; k++)
			g->res[g->hh[g->res[nb].hh].first + k].flags |= RF_NOCASE;
		s->hh = h;
		s->sur = H->sur;
		s->given = g->res[H->first].given;
		s->relative = H->first + 1;
		s->neighbour = nb;
		return;
	}
}

static void build_staff(struct gen *g, uint32_t n)
{
	uint32_t nwork = 0, *work = xcalloc(g->n_depts, sizeof(uint32_t));
	unsigned wsum = 0;
	int32_t ps = g->first_day, pe = g->last_day;
	for (uint32_t i = 0; i < g->n_depts; i++)
		if (g->depts[i].type >= 0) {
			work[nwork++] = i;
			wsum += dtypes[g->depts[i].type].weight;
		}
	g->staff = xcalloc(n, sizeof(struct staff));
	g->n_staff = n;
	/* Department of each member of staff: two each first (so every
	 * department has colleagues), the rest by weight; staff are kept
	 * grouped by department. */
	uint32_t *cnt = xcalloc(g->n_depts, sizeof(uint32_t));
	uint32_t left = n;
	for (uint32_t i = 0; i < nwork && left >= 2; i++, left -= 2)
		cnt[work[i]] = 2;
	while (left > 0) {
		uint32_t x = rng_below(&g->r, wsum), acc = 0;
		for (uint32_t i = 0; i < nwork; i++) {
			acc += dtypes[g->depts[work[i]].type].weight;
			if (x < acc) {
				cnt[work[i]]++;
				break;
			}
		}
		left--;
	}
	uint32_t si = 0;
	for (uint32_t di = 0; di < g->n_depts; di++) {
		struct dept *d = &g->depts[di];
		d->first_staff = si;
		d->n_staff = cnt[di];
		for (uint32_t k = 0; k < cnt[di]; k++, si++) {
			struct staff *s = &g->staff[si];
			uint32_t x = rng_below(&g->r, 100);
			s->dept = (uint16_t)di;
			s->hh = s->relative = s->neighbour = NONE32;
			s->emp = x < 70 ? EMP_REGULAR : x < 90 ? EMP_FISCAL : x < 95 ? EMP_TEMP :
								     EMP_CONTRACTOR;
			s->roles = ROLE_CLERK;
			if (d->type == DT_JOHO)
				s->roles |= ROLE_SYSADMIN;
			if (d->type == DT_KUMIN && k < 2 && cnt[di] >= 4)
				s->roles |= ROLE_DV;
			if (k == cnt[di] - 1 && (dtypes[d->type].sys & ~(1u << SYS_DOCS)) &&
			    s->emp == EMP_REGULAR)
				s->roles |= ROLE_EXPORT;
			s->sur = draw_surname(g);
			s->given = draw_given(g, rng_chance(&g->r, 0.45));
			switch (s->emp) {
			case EMP_REGULAR:
				s->start = ps - (int32_t)rng_range(&g->r, 30, 30 * 365);
				break;
			case EMP_FISCAL:
				s->start = days_from_civil(2026, 4, 1) - (rng_chance(&g->r, 0.3) ? 365 : 0);
				if (s->start > ps)
					s->start = ps;
				s->end = days_from_civil(2027, 3, 31);
				break;
			case EMP_TEMP:
				s->start = ps - (int32_t)rng_range(&g->r, 1, 120);
				break;
			default:
				s->start = ps - (int32_t)rng_range(&g->r, 10, 700);
				s->contractor = (uint8_t)(1 + rng_below(&g->r, 3));
				break;
			}
			if (s->end == 0 || s->end < s->start)
				s->end = DAY_NONE;
			s->pledge = s->start + (int32_t)rng_range(&g->r, 0, 7);
			if (s->pledge > ps)
				s->pledge = ps;
			/* Training within the year before the period, late enough to
			 * stay valid to its end. */
			int32_t lo = pe - 364;
			if (lo > ps - 1)
				lo = ps - 1;
			s->training = (int32_t)rng_range(&g->r, lo, ps - 1);
			if (s->emp == EMP_REGULAR && !(s->roles & ~ROLE_CLERK) &&
			    rng_chance(&g->r, 0.45))
				staff_link_home(g, s);
		}
	}
	/* Special staff: a few whose training expired (every access is the
	 * `untrained` misuse), a few who leave during the period and keep
	 * accessing (`after_end`), a few who leave cleanly. They are plain
	 * clerks in departments with colleagues. */
	uint32_t nu = n / 200 < 1 ? 1 : n / 200, na = nu, nl = nu;
	int32_t end_day = g->open_days[g->n_open / 3] - 1;
	for (uint32_t tries = 0; (nu + na + nl) > 0 && tries < n * 20; tries++) {
		struct staff *s = &g->staff[rng_below(&g->r, n)];
		if (s->roles != ROLE_CLERK || s->hh != NONE32 || s->kind != SK_NORMAL ||
		    g->depts[s->dept].n_staff < 3 || g->depts[s->dept].type == DT_SOMU)
			continue;
		if (nu) {
			s->kind = SK_UNTRAINED;
			s->training = ps - (int32_t)rng_range(&g->r, 400, 700);
			nu--;
		} else if (na) {
			s->kind = SK_LEAVER_BAD;
			s->emp = EMP_TEMP;
			s->contractor = 0;
			s->end = end_day;
			if (s->start > end_day - 30)
				s->start = end_day - 30 - (int32_t)rng_range(&g->r, 0, 300);
			if (s->pledge < s->start || s->pledge > end_day)
				s->pledge = s->start;
			na--;
		} else {
			s->kind = SK_LEAVER;
			s->end = end_day + (int32_t)rng_range(&g->r, 0, 20);
			if (s->start > s->end - 30)
				s->start = s->end - 30;
			if (s->pledge < s->start || s->pledge > s->end)
				s->pledge = s->start;
			nl--;
		}
	}
	free(cnt);
	free(work);
}

/* ---- events ---- */

static void ev_push(struct gen *g, uint32_t staff, int64_t ts, uint32_t res, int sys, int act,
		    uint64_t case_id, uint16_t query, int label)
{
	if (g->n_ev == g->cap_ev) {
		if (ARRAY_GROW(g->ev, g->cap_ev, g->n_ev + 1) < 0)
			BUG("event chunk too large");
	}
	struct ev *e = &g->ev[g->n_ev++];
	e->ts = ts;
	e->case_id = case_id;
	e->seq = g->seq++;
	e->staff = staff;
	e->res = res;
	e->query = query;
	e->sys = (uint8_t)sys;
	e->act = (uint8_t)act;
	e->label = (uint8_t)label;
}

static void case_write(struct gen *g, uint64_t id, uint32_t res, uint32_t dept, int kind,
		       uint32_t assigned, int64_t opened, int64_t closed, bool ring)
{
	char o[TS_TEXT_MAX], c[TS_TEXT_MAX];
	const struct dept *d = &g->depts[dept];
	fmt_ts(opened, o);
	if (closed)
		fmt_ts(closed, c);
	w_f(g, F_CASES, "{\"id\":\"C%09" PRIu64 "\",\"resident_id\":\"R%07" PRIu32
		"\",\"dept\":\"%s\",\"kind\":\"%s\"",
	    id, res + 1, d->id, dtypes[d->type].kinds[kind & 3]);
	if (assigned != NONE32)
		w_f(g, F_CASES, ",\"assigned_to\":\"S%05" PRIu32 "\"", assigned + 1);
	else
		w_s(g, F_CASES, ",\"assigned_to\":null");
	if (closed)
		w_f(g, F_CASES, ",\"opened\":\"%s\",\"closed\":\"%s\"}\n", o, c);
	else
		w_f(g, F_CASES, ",\"opened\":\"%s\",\"closed\":null}\n", o);
	g->st->cases++;
	if (!ring)
		return;
	struct dept *dm = &g->depts[dept];
	struct casering *cr = &dm->ring[dm->ring_pos];
	cr->id = id;
	cr->res = res;
	cr->closed = closed;
	dm->ring_pos = (dm->ring_pos + 1) % RING;
	if (dm->ring_n < RING)
		dm->ring_n++;
}

/* A system the department uses for resident work, mostly its primary one. */
static int dept_sys(struct gen *g, uint32_t dept)
{
	int t = g->depts[dept].type;
	unsigned mask = dtypes[t].sys;
	if (rng_chance(&g->r, 0.7))
		return dtypes[t].primary;
	for (;;) {
		int s = (int)rng_below(&g->r, SYS_N);
		if (mask & (1u << s))
			return s;
	}
}

enum sess {
	SS_STD, SS_COVER, SS_PRE, SS_HOUSEHOLD, SS_NAMESAKE, SS_SURNAME, SS_N
};

/*
 * One piece of work: a case for a resident and the accesses it explains.
 * *cur advances past the events; events stop at lim. Returns the number
 * of events made.
 */
static uint32_t session(struct gen *g, uint32_t si, int64_t *cur, int64_t lim, int64_t gap,
			bool plain, int label, int hard_overtime)
{
	struct staff *s = &g->staff[si];
	uint32_t dept = s->dept;
	const struct dept *d = &g->depts[dept];
	int type = d->type, kind = (int)rng_below(&g->r, 4);
	int x = (int)rng_below(&g->r, 100), ss = SS_STD;
	uint32_t res = NONE32, assigned = rng_chance(&g->r, 0.6) ? si : NONE32, made = 0;
	uint64_t cid = g->next_case++;
	int64_t t = *cur, opened;
	if (!plain) {
		if (x < 10)
			ss = SS_COVER;
		else if (x < 18)
			ss = SS_PRE;
		else if (x < 26 && type == DT_KUMIN)
			ss = SS_HOUSEHOLD;
		else if (x < 36 && type != DT_SOMU)
			ss = SS_NAMESAKE;
		else if (x < 40)
			ss = SS_SURNAME;
	}
	int hard = -1;
	if (ss == SS_SURNAME) {
		uint32_t a = g->sur_first[s->sur], b = g->sur_first[s->sur + 1];
		for (int tries = 0; tries < 8 && b > a && res == NONE32; tries++) {
			uint32_t r = g->by_sur[a + rng_below(&g->r, b - a)];
			if (!(g->res[r].flags & RF_NOCASE))
				res = r;
		}
		if (res == NONE32)
			ss = SS_STD;
		else
			hard = GEN_H_SURNAME;
	}
	if (ss == SS_HOUSEHOLD) {
		res = random_resident(g);
		const struct hh *h = &g->hh[g->res[res].hh];
		bool ok = h->size >= 2;
		for (uint32_t k = 0; k < h->size; k++)
			if (g->res[h->first + k].flags & RF_NOCASE)
				ok = false;
		if (!ok)
			ss = SS_STD;
		else
			hard = GEN_H_HOUSEHOLD;
	}
	if (res == NONE32)
		res = random_resident(g);
	if (ss == SS_COVER) {
		uint32_t other = d->first_staff + rng_below(&g->r, d->n_staff);
		if (other == si)
			other = d->first_staff + (other - d->first_staff + 1) % d->n_staff;
		assigned = other;
		hard = GEN_H_COVER;
	}
	if (hard_overtime)
		hard = GEN_H_OVERTIME;
	int psys = dtypes[type].primary;
	uint16_t q = (uint16_t)(g->res[res].sur + 1);
#define NEXT() (t += rng_range(&g->r, 20, gap))
#define PUSH(rr, sy, ac, cc, qq)                                                             \
	do {                                                                                  \
		if (t >= lim)                                                                 \
			goto done;                                                            \
		ev_push(g, si, t, (rr), (sy), (ac), (cc), (qq), label);                       \
		if (hard >= 0 && !label)                                                      \
			g->st->hard[hard]++;                                                  \
		made++;                                                                       \
		NEXT();                                                                       \
	} while (0)
	if (ss == SS_PRE) {
		/* At the counter: the record is looked up before the case is
		 * entered. */
		hard = GEN_H_PRELOOKUP;
		opened = t + rng_range(&g->r, 60, 1200);
		PUSH(NONE32, psys, A_SEARCH, 0, q);
		PUSH(res, psys, A_VIEW, 0, 0);
		if (t < opened)
			t = opened + rng_range(&g->r, 10, 60);
		hard = hard_overtime ? GEN_H_OVERTIME : -1;
	} else {
		opened = t - rng_range(&g->r, 0, 120);
	}
	if (ss == SS_NAMESAKE) {
		uint32_t a = g->sur_first[g->res[res].sur], b = g->sur_first[g->res[res].sur + 1];
		uint32_t want = 1 + rng_below(&g->r, 3), pos = rng_below(&g->r, want + 1);
		hard = hard_overtime ? GEN_H_OVERTIME : GEN_H_NAMESAKE;
		PUSH(NONE32, psys, A_SEARCH, 0, q);
		for (uint32_t k = 0; k <= want; k++) {
			if (k == pos) {
				int h2 = hard;
				hard = hard_overtime ? GEN_H_OVERTIME : -1;
				PUSH(res, psys, A_VIEW, 0, 0);
				hard = h2;
				continue;
			}
			uint32_t r = g->by_sur[a + rng_below(&g->r, b - a)];
			if (r == res || (g->res[r].flags & RF_NOCASE))
				continue;
			PUSH(r, psys, A_VIEW, 0, 0);
		}
		hard = hard_overtime ? GEN_H_OVERTIME : -1;
	} else if (ss != SS_PRE) {
		if (rng_chance(&g->r, 0.6))
			PUSH(NONE32, psys, A_SEARCH, 0, q);
		PUSH(res, psys, A_VIEW, rng_chance(&g->r, 0.3) ? cid : 0, 0);
	}
	if (ss == SS_HOUSEHOLD) {
		const struct hh *h = &g->hh[g->res[res].hh];
		for (uint32_t k = 0; k < h->size; k++)
			if (h->first + k != res)
				PUSH(h->first + k, SYS_JUKI, A_VIEW, 0, 0);
		PUSH(res, SYS_JUKI, A_PRINT, cid, 0);
		kind = 2; /* certificate */
	}
	{
		uint32_t more = 2 + rng_below(&g->r, 6);
		for (uint32_t k = 0; k < more; k++) {
			int sy = dept_sys(g, dept), y = (int)rng_below(&g->r, 100);
			int ac = y < 70 ? A_VIEW : y < 85 ? A_UPDATE : A_PRINT;
			PUSH(res, sy, ac, ac != A_VIEW || rng_chance(&g->r, 0.2) ? cid : 0, 0);
		}
		if ((s->roles & ROLE_EXPORT) && rng_chance(&g->r, 0.05))
			PUSH(res, psys, A_EXPORT, cid, 0);
	}
done:
#undef PUSH
#undef NEXT
	if (made) {
		/* A counter session cut short by the end of the day may stop
		 * before the case it was about to open: close after opening. */
		int64_t end = t > opened ? t : opened;
		int64_t closed = rng_chance(&g->r, 0.04) ? 0 : end + rng_range(&g->r, 60, 1800);
		case_write(g, cid, res, dept, kind, assigned, opened, closed, true);
	} else {
		g->next_case--;
	}
	*cur = t;
	return made;
}

/* Work a window [t0, t1) up to target events. */
static void work(struct gen *g, uint32_t si, int64_t t0, int64_t t1, uint32_t target, bool plain,
		 int label, bool overtime)
{
	int64_t cur = t0 + rng_range(&g->r, 0, 600);
	int64_t gap = (t1 - t0) / (target ? target : 1);
	uint32_t made = 0;
	gap = gap * 8 / 5 - 20;
	if (gap < 25)
		gap = 25;
	while (made < target && cur < t1 - 30) {
		uint32_t m = session(g, si, &cur, t1, gap, plain, label, overtime);
		made += m;
		if (m == 0)
			break;
		cur += rng_range(&g->r, 10, gap);
	}
}

static bool employed(const struct staff *s, int32_t day)
{
	return day >= s->start && (s->end == DAY_NONE || day <= s->end);
}

/* A resident of a recent case of the department (so need-to-know alone
 * would explain it); a random resident if none. */
static uint32_t ring_res(struct gen *g, uint32_t dept)
{
	const struct dept *d = &g->depts[dept];
	if (d->ring_n == 0)
		return random_resident(g);
	return d->ring[rng_below(&g->r, d->ring_n)].res;
}

static int64_t office_time(struct gen *g)
{
	return g->mid + rng_range(&g->r, OFFICE_OPEN + 600, OFFICE_CLOSE - 600);
}

static uint32_t pick_staff(struct gen *g, unsigned need_role, bool need_home)
{
	for (int t = 0; t < 400; t++) {
		uint32_t si = rng_below(&g->r, g->n_staff);
		const struct staff *s = &g->staff[si];
		if (!employed(s, g->day) || s->kind != SK_NORMAL)
			continue;
		if (need_role && !(s->roles & need_role))
			continue;
		if (need_home && s->hh == NONE32)
			continue;
		if (g->depts[s->dept].type == DT_SOMU)
			continue;
		return si;
	}
	return NONE32;
}

/* The number of items of a quota of q spread over n slots falling in slot i. */
static uint32_t spread(uint64_t q, uint32_t i, uint32_t n)
{
	return (uint32_t)(q * (i + 1) / n - q * i / n);
}

static void inject(struct gen *g, uint32_t oi, uint32_t ci, uint32_t ncal, bool open)
{
	uint64_t b = g->base;
	uint32_t n = g->n_open;
	if (open) {
		uint32_t k = spread(b, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, false);
			if (si != NONE32)
				ev_push(g, si, office_time(g), g->quiet[rng_below(&g->r, g->n_quiet)],
					dtypes[g->depts[g->staff[si].dept].type].primary, A_VIEW, 0, 0,
					GEN_L_UNEXPLAINED);
		}
		k = spread(b, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, false);
			if (si != NONE32 && !(g->staff[si].roles & ROLE_DV))
				ev_push(g, si, office_time(g), g->dv[rng_below(&g->r, g->n_dv)],
					SYS_JUKI, A_VIEW, 0, 0, GEN_L_DV_SUPPORT);
		}
		k = spread(b, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, true);
			if (si != NONE32)
				ev_push(g, si, office_time(g), g->staff[si].relative, SYS_JUKI, A_VIEW,
					0, 0, GEN_L_RELATIVE);
		}
		k = spread(b, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, true);
			if (si != NONE32)
				ev_push(g, si, office_time(g), g->staff[si].neighbour, SYS_JUKI,
					A_VIEW, 0, 0, GEN_L_NEIGHBOUR);
		}
		k = spread(b, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, false);
			if (si != NONE32)
				ev_push(g, si, office_time(g), g->vip[rng_below(&g->r, g->n_vip)],
					SYS_JUKI, A_VIEW, 0, 0, GEN_L_VIP);
		}
		/* Bulk scans: 50-200 distinct residents within an hour. */
		k = spread(b / 100 < 1 ? 1 : b / 100, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, 0, false);
			if (si == NONE32)
				continue;
			uint32_t m = (uint32_t)rng_range(&g->r, 50, 200);
			uint32_t r0 = rng_below(&g->r, g->n_res), step = 1 + rng_below(&g->r, 7);
			int64_t t = g->mid + rng_range(&g->r, OFFICE_OPEN, OFFICE_CLOSE - 3600);
			int sy = dtypes[g->depts[g->staff[si].dept].type].primary;
			for (uint32_t j = 0; j < m && j < g->n_res; j++) {
				t += rng_range(&g->r, 3, 3400 / m);
				ev_push(g, si, t, (uint32_t)((r0 + (uint64_t)j * step) % g->n_res), sy,
					A_VIEW, 0, 0, GEN_L_BULK_SCAN);
			}
		}
		/* Exports far above peers. */
		k = spread(b / 25 < 2 ? 2 : b / 25, oi, n);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t si = pick_staff(g, ROLE_EXPORT, false);
			if (si == NONE32)
				si = pick_staff(g, 0, false);
			if (si == NONE32)
				continue;
			uint32_t m = (uint32_t)rng_range(&g->r, 12, 40);
			int sy = dtypes[g->depts[g->staff[si].dept].type].primary;
			for (uint32_t j = 0; j < m; j++)
				ev_push(g, si, office_time(g), ring_res(g, g->staff[si].dept), sy,
					A_EXPORT, 0, 0, GEN_L_EXPORT);
		}
		/* Leavers who keep working. */
		for (uint32_t si = 0; si < g->n_staff; si++) {
			struct staff *s = &g->staff[si];
			if (s->kind != SK_LEAVER_BAD || g->day <= s->end)
				continue;
			uint32_t after = n - n / 3, per = (uint32_t)((b + after - 1) / after);
			uint32_t nb = 0;
			for (uint32_t j = 0; j < g->n_staff; j++)
				nb += g->staff[j].kind == SK_LEAVER_BAD;
			per = (per + nb - 1) / nb;
			for (uint32_t j = 0; j < per; j++)
				ev_push(g, si, office_time(g), ring_res(g, s->dept),
					dtypes[g->depts[s->dept].type].primary, A_VIEW, 0, 0,
					GEN_L_AFTER_END);
		}
	}
	/* Off hours: at night on open days, in the day on closed days, by
	 * someone without overtime that day. */
	uint32_t k = spread(b, ci, ncal);
	for (uint32_t i = 0; i < k; i++) {
		uint32_t si = pick_staff(g, 0, false);
		if (si == NONE32 || g->staff[si].ot_start)
			continue;
		int64_t t = g->mid + (open ? rng_range(&g->r, 22 * 3600, 23 * 3600 + 1800) :
					     rng_range(&g->r, 10 * 3600, 16 * 3600));
		ev_push(g, si, t, ring_res(g, g->staff[si].dept),
			dtypes[g->depts[g->staff[si].dept].type].primary, A_VIEW, 0, 0,
			GEN_L_OFF_HOURS);
	}
}

static void overtime_write(struct gen *g, uint32_t si, int64_t a, int64_t b)
{
	char x[TS_TEXT_MAX], y[TS_TEXT_MAX];
	fmt_ts(a, x);
	fmt_ts(b, y);
	w_f(g, F_OVERTIME, "{\"staff_id\":\"S%05" PRIu32 "\",\"start\":\"%s\",\"end\":\"%s\"}\n",
	    si + 1, x, y);
	g->st->overtime++;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void events_write(struct gen *g)
{
	char line[512];
	qsort(g->ev, g->n_ev, sizeof(*g->ev), ev_cmp);
	for (size_t i = 0; i < g->n_ev; i++) {
		const struct ev *e = &g->ev[i];
		int sec = (int)(e->ts - g->mid);
		size_t n = 0;
		BUG_ON(sec < 0 || sec >= 86400);
		uint64_t ref = ++g->next_ref;
#define LIT(s) (memcpy(line + n, s, sizeof(s) - 1), n += sizeof(s) - 1)
#define STR(s) (memcpy(line + n, s, strlen(s)), n += strlen(s))
		LIT("{\"ts\":\"");
		STR(g->daytext);
		line[n++] = 'T';
		n += fmt_pad(line + n, (uint64_t)(sec / 3600), 2);
		line[n++] = ':';
		n += fmt_pad(line + n, (uint64_t)(sec / 60 % 60), 2);
		line[n++] = ':';
		n += fmt_pad(line + n, (uint64_t)(sec % 60), 2);
		LIT("+09:00\",\"staff_id\":\"S");
		n += fmt_pad(line + n, e->staff + 1, 5);
		if (e->res == NONE32) {
			LIT("\",\"resident_id\":null,\"system\":\"");
		} else {
			LIT("\",\"resident_id\":\"R");
			n += fmt_pad(line + n, e->res + 1, 7);
			LIT("\",\"system\":\"");
		}
		STR(systems[e->sys].id);
		LIT("\",\"action\":\"");
		STR(act_names[e->act]);
		LIT("\",\"zone\":\"");
		STR(systems[e->sys].zone);
		LIT("\",\"terminal\":\"T");
		n += fmt_pad(line + n, e->staff + 1, 5);
		line[n++] = '"';
		if (e->case_id) {
			LIT(",\"case_id\":\"C");
			n += fmt_pad(line + n, e->case_id, 9);
			line[n++] = '"';
		}
		if (e->query) {
			LIT(",\"query\":\"");
			STR(gen_surnames[e->query - 1]);
			line[n++] = '"';
		}
		LIT(",\"result\":\"ok\",\"ref\":\"E");
		n += fmt_pad(line + n, ref, 9);
		LIT("\"}\n");
		w_put(g, F_ACCESS, line, n);
		if (e->label) {
			n = 0;
			LIT("{\"ref\":\"E");
			n += fmt_pad(line + n, ref, 9);
			LIT("\",\"kind\":\"");
			STR(gen_label_name(e->label));
			LIT("\"}\n");
			w_put(g, F_LABELS, line, n);
			g->st->labels++;
			g->st->label_kind[e->label]++;
		}
#undef LIT
#undef STR
	}
	g->st->events += g->n_ev;
	g->n_ev = 0;
}

static void progress_show(struct gen *g, bool last)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double el = (double)(now.tv_sec - g->t0.tv_sec) + (double)(now.tv_nsec - g->t0.tv_nsec) / 1e9;
	double rate = el > 0 ? (double)g->st->events / el : 0;
	size_t tot = g->expect > g->st->events ? g->expect : g->st->events;
	int pct = tot ? (int)(100.0 * (double)g->st->events / (double)tot) : 100;
	if (last)
		pct = 100;
	fprintf(stderr, T("\r生成中 %3d%%  %zu / %zu 件  %.0f 件/秒 ", "\rgenerating %3d%%  %zu / %zu events  %.0f/s "),
		pct, g->st->events, tot, rate);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static void run_days(struct gen *g)
{
	uint32_t ncal = (uint32_t)(g->last_day - g->first_day + 1), oi = 0;
	for (uint32_t ci = 0; ci < ncal; ci++) {
		g->day = g->first_day + (int32_t)ci;
		g->mid = day_jst_midnight(g->day);
		date_format(g->day, g->daytext);
		bool open = oi < g->n_open && g->open_days[oi] == g->day;
		for (uint32_t si = 0; si < g->n_staff; si++) {
			struct staff *s = &g->staff[si];
			s->ot_start = s->ot_end = 0;
			if (!employed(s, g->day))
				continue;
			if (open) {
				uint32_t target = g->per_day * (uint32_t)rng_range(&g->r, 80, 120) / 100;
				if (s->kind == SK_UNTRAINED) {
					uint32_t nu = g->n_staff / 200 < 1 ? 1 : g->n_staff / 200;
					target = (uint32_t)((g->base + (uint64_t)nu * g->n_open - 1) /
							    ((uint64_t)nu * g->n_open));
				}
				if (g->depts[s->dept].type == DT_SOMU)
					target /= 4;
				work(g, si, g->mid + OFFICE_OPEN, g->mid + OFFICE_CLOSE, target,
				     s->kind != SK_NORMAL || (s->roles & ROLE_DV),
				     s->kind == SK_UNTRAINED ? GEN_L_UNTRAINED : 0, false);
				/* DV support handlers work their own assigned cases. */
				if ((s->roles & ROLE_DV) && rng_chance(&g->r, 0.3)) {
					uint32_t r = g->dv[rng_below(&g->r, g->n_dv)];
					int64_t t = g->mid + rng_range(&g->r, OFFICE_OPEN + 600, OFFICE_CLOSE - 3600);
					uint64_t cid = g->next_case++;
					ev_push(g, si, t + 60, r, SYS_JUKI, A_VIEW, cid, 0, 0);
					ev_push(g, si, t + 300, r, SYS_JUKI, A_UPDATE, cid, 0, 0);
					/* Kept out of the recent-case ring: misuse injected
					 * from the ring must never land on a DV record. */
					case_write(g, cid, r, s->dept, 0, si, t, t + 1800, false);
				}
			}
			if (s->kind != SK_NORMAL || g->depts[s->dept].type == DT_SOMU)
				continue;
			/* Approved overtime: evenings on open days, some Saturdays and
			 * holidays (休日窓口, tax season). */
			double p = open ? 0.03 : 0.01;
			if (rng_chance(&g->r, p)) {
				int64_t a = g->mid + (open ? OFFICE_CLOSE : 9 * 3600);
				int64_t b = a + rng_range(&g->r, 90, open ? 210 : 360) * 60;
				s->ot_start = a;
				s->ot_end = b;
				overtime_write(g, si, a, b);
				work(g, si, a + 300, b - 300, (uint32_t)((b - a) / 300), false, 0, true);
			}
		}
		inject(g, oi, ci, ncal, open);
		if (open)
			oi++;
		events_write(g);
		if (g->progress)
			progress_show(g, false);
	}
}

/* ---- static files ---- */

static void write_static(struct gen *g)
{
	for (int i = 0; i < SYS_N; i++)
		w_f(g, F_SYSTEMS,
		    "{\"id\":\"%s\",\"name\":\"%s\",\"zone\":\"%s\",\"confidentiality\":\"%s\","
		    "\"integrity\":\"%s\",\"availability\":\"%s\",\"need_to_know\":\"monitor\"}\n",
		    systems[i].id, systems[i].name, systems[i].zone, systems[i].conf,
		    systems[i].integ, systems[i].avail);
	g->st->systems = SYS_N;
	for (uint32_t i = 0; i < g->n_depts; i++) {
		const struct dept *d = &g->depts[i];
		w_f(g, F_DEPTS, "{\"id\":\"%s\",\"name\":\"%s\",\"parent\":", d->id, d->name);
		if (d->parent >= 0)
			w_f(g, F_DEPTS, "\"%s\"", g->depts[d->parent].id);
		else
			w_s(g, F_DEPTS, "null");
		w_s(g, F_DEPTS, ",\"systems\":[");
		bool first = true;
		for (int s = 0; s < SYS_N; s++)
			if (d->type >= 0 && (dtypes[d->type].sys & (1u << s))) {
				w_f(g, F_DEPTS, "%s\"%s\"", first ? "" : ",", systems[s].id);
				first = false;
			}
		w_s(g, F_DEPTS, "]}\n");
	}
	g->st->departments = g->n_depts;
	for (uint32_t i = 0; i < g->n_staff; i++) {
		const struct staff *s = &g->staff[i];
		const struct dept *d = &g->depts[s->dept];
		char st[DATE_TEXT_MAX], en[DATE_TEXT_MAX], tr[DATE_TEXT_MAX], pl[DATE_TEXT_MAX];
		bool mn = (dtypes[d->type].sys & ~(1u << SYS_DOCS)) != 0;
		date_format(s->start, st);
		date_format(s->training, tr);
		date_format(s->pledge, pl);
		w_f(g, F_STAFF,
		    "{\"id\":\"S%05" PRIu32 "\",\"name\":\"%s %s\",\"surname\":\"%s\",\"dept\":\"%s\","
		    "\"employment\":\"%s\",\"roles\":[\"clerk\"%s%s%s],\"zones\":[%s\"lgwan\"],"
		    "\"start\":\"%s\"",
		    i + 1, gen_surnames[s->sur], given_name(s->given), gen_surnames[s->sur], d->id,
		    emp_names[s->emp], s->roles & ROLE_DV ? ",\"dv_support_handler\"" : "",
		    s->roles & ROLE_EXPORT ? ",\"mynumber_export\"" : "",
		    s->roles & ROLE_SYSADMIN ? ",\"sysadmin\"" : "", mn ? "\"mynumber\"," : "", st);
		if (s->end != DAY_NONE) {
			date_format(s->end, en);
			w_f(g, F_STAFF, ",\"end\":\"%s\"", en);
		} else {
			w_s(g, F_STAFF, ",\"end\":null");
		}
		w_f(g, F_STAFF, ",\"training\":\"%s\",\"pledge\":\"%s\"", tr, pl);
		if (s->hh != NONE32)
			w_f(g, F_STAFF, ",\"address_id\":\"A%07" PRIu32 "\",\"household_id\":\"H%07" PRIu32 "\"",
			    g->hh[s->hh].addr, s->hh + 1);
		if (s->emp == EMP_CONTRACTOR)
			w_f(g, F_STAFF, ",\"contractor\":\"CT%02u\"", (unsigned)s->contractor);
		w_s(g, F_STAFF, "}\n");
	}
	g->st->staff = g->n_staff;
	for (uint32_t i = 0; i < g->n_res; i++) {
		const struct res *p = &g->res[i];
		char b[DATE_TEXT_MAX];
		date_format(p->birth, b);
		w_f(g, F_RESIDENTS,
		    "{\"id\":\"R%07" PRIu32 "\",\"surname\":\"%s\",\"given\":\"%s\",\"birth\":\"%s\","
		    "\"address_id\":\"A%07" PRIu32 "\",\"household_id\":\"H%07" PRIu32 "\",\"flags\":[",
		    i + 1, gen_surnames[p->sur], given_name(p->given), b, g->hh[p->hh].addr,
		    p->hh + 1);
		bool first = true;
		if (p->flags & RF_DV) {
			w_s(g, F_RESIDENTS, "\"dv_support\"");
			first = false;
		}
		if (p->flags & RF_VIP) {
			w_s(g, F_RESIDENTS, first ? "\"vip\"" : ",\"vip\"");
			first = false;
		}
		if (p->flags & RF_STAFF)
			w_s(g, F_RESIDENTS, first ? "\"staff\"" : ",\"staff\"");
		w_s(g, F_RESIDENTS, "]}\n");
	}
	g->st->residents = g->n_res;
}

/* ---- files ---- */

static int files_open(struct gen *g, const char *dir)
{
	for (int i = 0; i < F_N; i++) {
		struct wfile *w = &g->w[i];
		size_t n = strlen(dir) + strlen(file_names[i]) + 8;
		w->path = xmalloc(n);
		w->tmp = xmalloc(n);
		snprintf(w->path, n, "%s/%s", dir, file_names[i]);
		snprintf(w->tmp, n, "%s/%s.tmp", dir, file_names[i]);
		w->buf = xmalloc(WBUF_CAP);
		w->f = fopen(w->tmp, "wb");
		if (!w->f) {
			diag_error(g->d, w->tmp, 0, 0, NULL, T("作成できません: %s", "cannot create: %s"),
				   strerror(errno));
			return ERR_IO;
		}
	}
	return 0;
}

static int files_close(struct gen *g, bool ok)
{
	int r = 0;
	for (int i = 0; i < F_N; i++) {
		struct wfile *w = &g->w[i];
		if (w->f) {
			if (ok)
				w_flush(g, w);
			if (fclose(w->f) != 0)
				g->werr = true;
			w->f = NULL;
		}
	}
	if (ok && g->werr) {
		diag_error(g->d, g->w[0].tmp, 0, 0, NULL, T("書き込みに失敗しました: %s", "write failed: %s"),
			   strerror(errno));
		ok = false;
		r = ERR_IO;
	}
	for (int i = 0; i < F_N; i++) {
		struct wfile *w = &g->w[i];
		if (!w->tmp)
			continue;
		if (ok) {
			if (rename(w->tmp, w->path) != 0) {
				diag_error(g->d, w->path, 0, 0, NULL, T("名前を変更できません: %s", "cannot rename: %s"),
					   strerror(errno));
				r = ERR_IO;
				ok = false;
			}
		}
		if (!ok)
			unlink(w->tmp);
		free(w->tmp);
		free(w->path);
		free(w->buf);
		w->tmp = w->path = w->buf = NULL;
	}
	return r;
}

/* ---- public ---- */

const char *gen_label_name(int kind)
{
	static const char *const names[GEN_L_COUNT] = {
		NULL,       "unexplained", "dv_support", "relative",  "neighbour", "vip",
		"bulk_scan", "off_hours",  "after_end", "untrained", "export",
	};
	if (kind <= 0 || kind >= GEN_L_COUNT)
		return NULL;
	return names[kind];
}

int gen_scale_parse(const char *s, enum gen_scale *out)
{
	if (!s)
		return ERR_INVALID;
	if (!strcmp(s, "S") || !strcmp(s, "s"))
		*out = GEN_S;
	else if (!strcmp(s, "M") || !strcmp(s, "m"))
		*out = GEN_M;
	else if (!strcmp(s, "L") || !strcmp(s, "l"))
		*out = GEN_L;
	else
		return ERR_INVALID;
	return 0;
}

int gen_run(const struct gen_opts *o, struct gen_stats *stats, struct diag *d)
{
	static const size_t sc_res[] = {5000, 200000, 2000000}, sc_staff[] = {60, 1000, 5000},
			    sc_ev[] = {150000, 10000000, 100000000};
	struct gen *g = NULL;
	struct gen_stats dummy;
	int r = 0;
	size_t nres, nstaff, nev;

	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	if (!o || !o->outdir || !*o->outdir) {
		diag_error(d, NULL, 0, 0, "out", "%s", T("出力先が指定されていません", "no output folder given"));
		return ERR_INVALID;
	}
	if ((int)o->scale < GEN_S || o->scale > GEN_L) {
		diag_error(d, NULL, 0, 0, "scale", "%s", T("規模は S、M、L のいずれかです", "scale must be S, M or L"));
		return ERR_INVALID;
	}
	nres = o->residents ? o->residents : sc_res[o->scale];
	nstaff = o->staff ? o->staff : sc_staff[o->scale];
	nev = o->events ? o->events : sc_ev[o->scale];
	if (nres < 500 || nres > 20000000) {
		diag_error(d, NULL, 0, 0, "residents", T("住民数 %zu は範囲外です（500〜20000000）",
							  "residents %zu out of range (500-20000000)"), nres);
		r = ERR_INVALID;
	}
	if (nstaff < 20 || nstaff > 60000) {
		diag_error(d, NULL, 0, 0, "staff", T("職員数 %zu は範囲外です（20〜60000）",
						      "staff %zu out of range (20-60000)"), nstaff);
		r = ERR_INVALID;
	}
	if (nev < 1000 || nev > 2000000000) {
		diag_error(d, NULL, 0, 0, "events", T("イベント数 %zu は範囲外です（1000〜2000000000）",
						       "events %zu out of range (1000-2000000000)"), nev);
		r = ERR_INVALID;
	}
	if (nstaff * 2 > nres) {
		diag_error(d, NULL, 0, 0, "staff", "%s", T("住民数は職員数の2倍以上にしてください",
							  "residents must be at least twice the staff"));
		r = ERR_INVALID;
	}
	if (r < 0)
		return r;
	if (mkdir(o->outdir, 0755) != 0 && errno != EEXIST) {
		diag_error(d, o->outdir, 0, 0, NULL, T("作成できません: %s", "cannot create: %s"), strerror(errno));
		return ERR_IO;
	}

	g = xcalloc(1, sizeof(*g));
	g->d = d;
	g->st = stats;
	g->progress = o->progress;
	rng_seed(&g->r, o->seed ^ 0x6d616d6f72692d67ULL);
	clock_gettime(CLOCK_MONOTONIC, &g->t0);

	/* The period: enough open days for about 100 accesses per member of
	 * staff and working day, from Wednesday 2026-04-01, at most 360
	 * calendar days (so that training dated before it stays valid). */
	{
		uint64_t want = (nev + nstaff * 50) / (nstaff * 100);
		if (want < 1)
			want = 1;
		g->open_days = xcalloc(400, sizeof(int32_t));
		g->first_day = days_from_civil(2026, 4, 1);
		int32_t day = g->first_day;
		while (g->n_open < want && day - g->first_day < 360) {
			if (!jp_office_closed(day))
				g->open_days[g->n_open++] = day;
			day++;
		}
		BUG_ON(g->n_open == 0);
		g->last_day = g->open_days[g->n_open - 1];
		g->per_day = (uint32_t)(nev / ((uint64_t)nstaff * g->n_open));
		if (g->per_day < 3)
			g->per_day = 3;
		g->base = (uint32_t)(nev / 5000 < 24 ? 24 : nev / 5000);
		g->expect = nev;
		stats->first_day = g->first_day;
		stats->last_day = g->last_day;
	}
	g->zipf = xcalloc(gen_n_surnames, sizeof(uint32_t));
	{
		/* Zipf-Mandelbrot weights 1/(rank+10) in integers, so that no
		 * floating-point library can change the output: 佐藤 about 3 %,
		 * twenty times the 200th surname. */
		uint32_t acc = 0;
		for (size_t i = 0; i < gen_n_surnames; i++) {
			acc += 10000000u / (uint32_t)(i + 11);
			g->zipf[i] = acc;
		}
		g->zipf_total = acc;
	}
	build_residents(g, (uint32_t)nres);
	mark_residents(g);
	build_depts(g, (uint32_t)nstaff);
	build_staff(g, (uint32_t)nstaff);
	g->next_case = 1;

	r = files_open(g, o->outdir);
	if (r < 0)
		goto out;
	write_static(g);
	run_days(g);
	if (g->progress)
		progress_show(g, true);
	r = files_close(g, true);
out:
	if (r < 0)
		(void)files_close(g, false);
	free(g->zipf);
	free(g->res);
	free(g->hh);
	free(g->by_sur);
	free(g->sur_first);
	free(g->depts);
	free(g->staff);
	free(g->open_days);
	free(g->quiet);
	free(g->vip);
	free(g->dv);
	free(g->ev);
	free(g);
	return r;
}

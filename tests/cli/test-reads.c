/* SPDX-License-Identifier: MIT */
/* The read commands (status, history, show, state, diff, audit, stats, ledger ...) run as the
 * real shiplog binary against ledgers built by `ledger import` of a JSON-lines fixture: a
 * successful deploy, a second one on a branch, a deploy whose verify failed and was rolled back
 * by a nested automatic rollback, a refusal by the edge guard, an interrupted docker deploy, and
 * an event of a type this shiplog does not know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <ledger/ledger.h>

#include "cmd.h"
#include "testlib.h"
#include "util.h"

#define C0 "0000000000000000000000000000000000000000"
#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"
#define C3 "3333333333333333333333333333333333333333"
#define C4 "4444444444444444444444444444444444444444"

#define REQ(kind, mode, ref, commit, prev, rt, services, reverts, reason)                          \
	"\"kind\":\"" kind "\",\"mode\":\"" mode "\",\"ref\":\"" ref "\",\"commit\":\"" commit     \
	"\",\"prev_commit\":\"" prev "\",\"runtime\":\"" rt "\",\"services\":[" services           \
	"],\"flags\":[],\"exec_mode\":\"local\",\"config_digest\":\"d1g3st\",\"reverts\":" reverts \
	",\"reason\":\"" reason "\",\"pid\":4242"
#define PSTART(p) "\"phase\":\"" p "\""
#define PFIN(p, ms, ok, err)                                                                       \
	"\"phase\":\"" p "\",\"duration_ns\":" ms "000000,\"ok\":" ok ",\"error\":\"" err "\""
#define STEP(argv, code, ms, what)                                                                 \
	"\"argv\":[" argv "],\"cwd\":\"/srv/app\",\"exit_code\":" code ",\"duration_ns\":" ms      \
	"000000,\"what\":\"" what "\""
#define MOVED(from, to, ref)                                                                       \
	"\"from\":\"" from "\",\"to\":\"" to "\",\"ref\":\"" ref "\",\"path\":\"/srv/app\""
#define RESTART(svc, rt, unit, before, after, commit)                                              \
	"\"service\":\"" svc "\",\"runtime\":\"" rt "\",\"unit\":\"" unit                          \
	"\",\"result\":\"done\","                                                                  \
	"\"duration_ns\":410000000,\"before\":\"" before "\",\"after\":\"" after                   \
	"\",\"commit\":\"" commit "\""
#define HEALTH(svc, kind, target, ok, attempts, detail)                                            \
	"\"service\":\"" svc "\",\"runtime\":\"native\",\"kind\":\"" kind                          \
	"\",\"target\":\"" target "\",\"ok\":" ok ",\"attempts\":" attempts                        \
	",\"latency_ns\":12000000,\"detail\":\"" detail "\""
#define FIN(outcome, ms, err, rb)                                                                  \
	"\"outcome\":\"" outcome "\",\"error\":\"" err "\",\"duration_ns\":" ms                    \
	"000000,\"rollback_op\":" rb

struct fx {
	int day, ms, op;
	const char *type, *extra;
};

/* seq = index + 1. Day 0 is 2026-11-20. */
static const struct fx FX[] = {
    /* op 1: deploy main C0 -> C1 of web, api, compute: succeeded */
    {0, 0, 1, "op.requested",
     REQ("deploy", "main", "main", C1, C0, "native", "\"web\",\"api\",\"compute\"", "0", "")},
    {0, 10, 1, "phase.started", PSTART("precheck")},
    {0, 50, 1, "step.ran", STEP("\"git\",\"status\",\"--porcelain\"", "0", "30", "dirty-check")},
    {0, 130, 1, "phase.finished", PFIN("precheck", "120", "true", "")},
    {0, 140, 1, "phase.started", PSTART("rollout")},
    {0, 900, 1, "step.ran", STEP("\"git\",\"fetch\",\"origin\",\"main\"", "0", "750", "fetch")},
    {0, 950, 1, "git.moved", MOVED(C0, C1, "main")},
    {0, 2000, 1, "step.ran",
     STEP("\"sh\",\"-c\",\"bun install --frozen-lockfile\"", "0", "1040", "build")},
    {0, 2400, 1, "unit.restarted",
     RESTART("web", "native", "islandflow-web.service", "100", "200", C1)},
    {0, 2410, 1, "unit.restarted",
     RESTART("api", "native", "islandflow-api.service", "101", "201", C1)},
    {0, 2420, 1, "unit.restarted",
     RESTART("compute", "native", "islandflow-compute.service", "102", "202", C1)},
    {0, 2640, 1, "phase.finished", PFIN("rollout", "2500", "true", "")},
    {0, 2650, 1, "phase.started", PSTART("verify")},
    {0, 3000, 1, "health.checked",
     HEALTH("web", "http-head", "http://127.0.0.1:3000/", "true", "1", "200 OK")},
    {0, 3100, 1, "health.checked",
     HEALTH("api", "http-get", "http://127.0.0.1:4000/health", "true", "2", "200 OK")},
    {0, 3200, 1, "health.checked",
     HEALTH("compute", "unit", "islandflow-compute.service", "true", "1", "active/running")},
    {0, 3850, 1, "phase.finished", PFIN("verify", "1200", "true", "")},
    {0, 3860, 1, "op.finished", FIN("succeeded", "3860", "", "0")},
    /* op 19: deploy branch feature C1 -> C2 of api: succeeded */
    {1, 0, 19, "op.requested",
     REQ("deploy", "branch", "feature", C2, C1, "native", "\"api\"", "0", "")},
    {1, 10, 19, "phase.started", PSTART("rollout")},
    {1, 500, 19, "git.moved", MOVED(C1, C2, "feature")},
    {1, 900, 19, "unit.restarted",
     RESTART("api", "native", "islandflow-api.service", "201", "301", C2)},
    {1, 1010, 19, "phase.finished", PFIN("rollout", "1000", "true", "")},
    {1, 1020, 19, "phase.started", PSTART("verify")},
    {1, 1300, 19, "health.checked",
     HEALTH("api", "http-get", "http://127.0.0.1:4000/health", "true", "1", "200 OK")},
    {1, 1520, 19, "phase.finished", PFIN("verify", "500", "true", "")},
    {1, 1530, 19, "op.finished", FIN("succeeded", "1530", "", "0")},
    /* op 28: deploy main C2 -> C3 of web, api: verify fails, nested rollback 37 -> C2 */
    {2, 0, 28, "op.requested",
     REQ("deploy", "main", "main", C3, C2, "native", "\"web\",\"api\"", "0", "")},
    {2, 10, 28, "phase.started", PSTART("rollout")},
    {2, 400, 28, "git.moved", MOVED(C2, C3, "main")},
    {2, 800, 28, "unit.restarted",
     RESTART("web", "native", "islandflow-web.service", "200", "400", C3)},
    {2, 810, 28, "unit.restarted",
     RESTART("api", "native", "islandflow-api.service", "301", "401", C3)},
    {2, 2010, 28, "phase.finished", PFIN("rollout", "2000", "true", "")},
    {2, 2020, 28, "phase.started", PSTART("verify")},
    {2, 7000, 28, "health.checked",
     HEALTH("api", "http-get", "http://127.0.0.1:4000/health", "false", "5", "HTTP 502")},
    {2, 7020, 28, "phase.finished",
     PFIN("verify", "5000", "false", "api: http-get http://127.0.0.1:4000/health: HTTP 502")},
    {2, 7030, 37, "op.requested",
     REQ("rollback", "auto", "last-good", C2, C3, "native", "\"web\",\"api\"", "28", "auto")},
    {2, 7040, 37, "phase.started", PSTART("rollout")},
    {2, 7300, 37, "git.moved", MOVED(C3, C2, "main")},
    {2, 7700, 37, "unit.restarted",
     RESTART("web", "native", "islandflow-web.service", "400", "500", C2)},
    {2, 7710, 37, "unit.restarted",
     RESTART("api", "native", "islandflow-api.service", "401", "501", C2)},
    {2, 8040, 37, "phase.finished", PFIN("rollout", "1000", "true", "")},
    {2, 8300, 37, "health.checked",
     HEALTH("api", "http-get", "http://127.0.0.1:4000/health", "true", "1", "200 OK")},
    {2, 8400, 37, "op.finished", FIN("succeeded", "1370", "", "0")},
    {2, 8410, 28, "op.finished", FIN("rolled-back", "8410", "verify failed: api: HTTP 502", "37")},
    /* op 46: refused by the edge guard (standalone) */
    {3, 0, 46, "op.refused",
     "\"guard\":\"edge\",\"reason\":\"native deploy of edge role web needs "
     "DEPLOY_NATIVE_EDGE_READY=1\",\"request\":{" REQ("deploy", "main", "main", C4, C2, "native",
						      "\"web\"", "0", "") "}"},
    /* op 47: docker deploy of compute, its process died; closed as interrupted */
    {4, 0, 47, "op.requested",
     REQ("deploy", "ref", "v2.0", C4, C2, "docker", "\"compute\"", "0", "")},
    {4, 10, 47, "phase.started", PSTART("rollout")},
    {4, 3000, 47, "step.ran",
     STEP("\"docker\",\"compose\",\"build\",\"compute\"", "0", "2900", "build")},
    {4, 60000, 47, "op.finished", FIN("interrupted", "60000", "its process died", "0")},
    /* an event of a type from a newer shiplog */
    {4, 61000, 0, "future.thing", "\"note\":\"carried in raw\""},
};
#define NFX (sizeof(FX) / sizeof(FX[0]))

static int64_t day0_s(void)
{
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 20, .tm_hour = 10};
	return (int64_t)timegm(&tm);
}

static void fx_time(int day, int ms, char *buf, size_t n)
{
	time_t t = (time_t)(day0_s() + day * 86400 + ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), n - strlen(buf), ".%03dZ", ms % 1000);
}

/* The stored bytes of an event of a type this shiplog does not know, as a newer shiplog would
 * write it (msgpack map: "v", "t", "ts", "op", "a" and a field of its own), in base64: that is
 * how 'ledger export' carries such events. */
static char *unknown_raw(int64_t ts)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t m[128];
	size_t n = 0;
	struct buf out = {0};

#define PUT(...)                                                                                   \
	do {                                                                                       \
		const uint8_t bytes_[] = {__VA_ARGS__};                                            \
		memcpy(m + n, bytes_, sizeof(bytes_));                                             \
		n += sizeof(bytes_);                                                               \
	} while (0)
#define PUTS(str)                                                                                  \
	do {                                                                                       \
		m[n++] = (uint8_t)(0xa0 | (sizeof(str) - 1));                                      \
		memcpy(m + n, str, sizeof(str) - 1);                                               \
		n += sizeof(str) - 1;                                                              \
	} while (0)
	PUT(0x86);
	PUTS("v");
	PUT(0x01);
	PUTS("t");
	PUTS("future.thing");
	PUTS("ts");
	PUT(0xcf);
	for (int i = 7; i >= 0; i--)
		m[n++] = (uint8_t)((uint64_t)ts >> (i * 8));
	PUTS("op");
	PUT(0x00);
	PUTS("a");
	PUTS("alice@vps");
	PUTS("color");
	PUTS("blue");
#undef PUT
#undef PUTS
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)m[i] << 16 | (i + 1 < n ? (uint32_t)m[i + 1] << 8 : 0) |
			     (i + 2 < n ? m[i + 2] : 0);
		buf_printf(&out, "%c%c%c%c", b64[v >> 18 & 63], b64[v >> 12 & 63],
			   i + 1 < n ? b64[v >> 6 & 63] : '=', i + 2 < n ? b64[v & 63] : '=');
	}
	return out.data;
}

static char *fixture_text(void)
{
	struct buf b = {0};
	char t[40];

	for (size_t i = 0; i < NFX; i++) {
		fx_time(FX[i].day, FX[i].ms, t, sizeof(t));
		buf_printf(&b,
			   "{\"seq\":%zu,\"type\":\"%s\",\"time\":\"%s\",\"op\":%d,"
			   "\"actor\":\"alice@vps\",%s",
			   i + 1, FX[i].type, t, FX[i].op, FX[i].extra);
		if (streq(FX[i].type, "future.thing")) {
			int64_t ts = (day0_s() + FX[i].day * 86400) * 1000000000LL +
				     (int64_t)FX[i].ms * 1000000LL;
			char *raw = unknown_raw(ts);

			buf_printf(&b, ",\"raw\":\"%s\"", raw);
			free(raw);
		}
		buf_printf(&b, "}\n");
	}
	return b.data;
}

struct env {
	char *dir;
	char *ledger;
	char *fixture;
};

#define SL(r, e, ...) tl_shiplog((r), (e)->dir, NULL, "--ledger", (e)->ledger, __VA_ARGS__, NULL)

static void env_new(struct env *e, const char *tag, bool import)
{
	struct tl_run r;
	char *text = fixture_text();

	e->dir = tl_mkdtemp(tag);
	e->ledger = xasprintf("%s/ledger", e->dir);
	e->fixture = xasprintf("%s/fixture.jsonl", e->dir);
	tl_write(e->fixture, text);
	free(text);
	if (!import)
		return;
	SL(&r, e, "ledger", "import", e->fixture);
	cr_assert_eq(r.exit_code, 0, "import failed (%d): %s", r.exit_code, r.err);
	cr_assert(strstr(r.out, "imported 51 events"), "import said: %s", r.out);
	tl_run_release(&r);
}

static void env_free(struct env *e)
{
	tl_rmrf(e->dir);
	free(e->dir);
	free(e->ledger);
	free(e->fixture);
}

static json_t *parse_json(const char *s)
{
	json_error_t err;
	json_t *v = json_loads(s, 0, &err);

	cr_assert_not_null(v, "not JSON (%s): %s", err.text, s);
	return v;
}

/* JSON lines into an array. */
static json_t *parse_lines(const char *s)
{
	json_t *a = json_array();
	char *copy = xstrdup(s), *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(a, parse_json(line));
	free(copy);
	return a;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static const char *jstr(json_t *o, const char *path)
{
	json_t *v = o;
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, (size_t)atoi(k));
		else
			v = json_object_get(v, k);
	}
	free(copy);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(json_t *o, const char *path)
{
	json_t *v = o;
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, (size_t)atoi(k));
		else
			v = json_object_get(v, k);
	}
	free(copy);
	cr_assert(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

static json_t *service(json_t *state, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(state, "services"), i,
			   s) if (streq(jstr(s, "name"), name)) return s;
	cr_assert_fail("service %s missing from the state", name);
	return NULL;
}

/* ---- import, status, state ------------------------------------------------------------------ */

Test(reads, status_shows_last_good_and_quarantine)
{
	struct env e;
	struct tl_run r;
	json_t *st, *api, *web;

	env_new(&e, "reads-status", true);
	SL(&r, &e, "status", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	st = parse_json(r.out);
	cr_assert_eq(jint(st, "seq"), 51);
	api = service(st, "api");
	web = service(st, "web");
	cr_assert_str_eq(jstr(api, "owner"), "native");
	cr_assert_str_eq(jstr(api, "runtimes.native.commit"), C2);
	cr_assert_str_eq(jstr(api, "runtimes.native.last_good.commit"), C2,
			 "api's last good must be C2: C3 was rolled back");
	cr_assert_str_eq(jstr(web, "runtimes.native.commit"), C2);
	/* The rollback's success made C2 good for web too; C1 is the one before. */
	cr_assert_str_eq(jstr(web, "runtimes.native.last_good.commit"), C2);
	/* "op" is the id (the sequence of its first event), "op_number" its number */
	cr_assert_eq(jint(web, "runtimes.native.last_good.op"), 37);
	cr_assert_eq(jint(web, "runtimes.native.last_good.op_number"), 4);
	cr_assert_str_eq(jstr(web, "runtimes.native.good.1.commit"), C1);
	cr_assert_eq(json_array_size(json_object_get(st, "quarantine")), 1);
	cr_assert_str_eq(jstr(st, "quarantine.0.commit"), C3);
	cr_assert_eq(jint(st, "quarantine.0.rollback_op"), 37);
	cr_assert_eq(jint(st, "quarantine.0.rollback_op_number"), 4);
	cr_assert_eq(jint(st, "quarantine.0.op_number"), 3);
	cr_assert_eq(jint(st, "last_op"), 47);
	cr_assert_eq(jint(st, "last_op_number"), 6);
	cr_assert(json_is_null(json_object_get(st, "inflight")), "nothing runs now");
	cr_assert(json_is_false(json_object_get(json_object_get(st, "lock"), "held")));
	json_decref(st);
	tl_run_release(&r);

	SL(&r, &e, "status");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "LAST GOOD"), "%s", r.out);
	cr_assert(strstr(r.out, "operations (automatic rollbacks and refusals included)"),
		  "the count says what it counts: %s", r.out);
	cr_assert(strstr(r.out, "quarantined"), "%s", r.out);
	cr_assert(strstr(r.out, "333333333333"), "%s", r.out);
	cr_assert(strstr(r.out, "111111111111 (op 1"), "compute's last good: %s", r.out);
	cr_assert(strstr(r.out, "222222222222 (op 4,"), "api's last good (its number): %s", r.out);
	cr_assert(strstr(r.out, "op 3 rolled back by op 4"), "the quarantine: %s", r.out);
	cr_assert(strstr(r.out, "lock: free"), "%s", r.out);
	cr_assert(strstr(r.out, "in flight: none"), "%s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

/* quarantine list shows what status shows; lift records quarantine.lifted, the commit leaves the
 * quarantine (status, list, deploy's guard read the same state), and an unknown commit is exit
 * 2 with nothing recorded. */
Test(reads, quarantine_list_and_lift)
{
	struct env e;
	struct tl_run r;
	json_t *v;

	env_new(&e, "reads-quar", true);
	SL(&r, &e, "quarantine", "list");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "COMMIT") && strstr(r.out, "333333333333"), "%s", r.out);
	/* the rolled-back deploy is operation 3 (sequence 28), rolled back by operation 4 (37) */
	cr_assert(strstr(r.out, "  3 (seq:28)      4 (seq:37)  "), "op and rollback numbers: %s",
		  r.out);
	cr_assert(strstr(r.out, "verify failed: api: HTTP 502"), "%s", r.out);
	tl_run_release(&r);

	SL(&r, &e, "quarantine", "list", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 1, "%s", r.out);
	v = parse_json(r.out);
	cr_assert_str_eq(jstr(v, "commit"), C3);
	cr_assert_eq(jint(v, "op"), 3);
	cr_assert_eq(jint(v, "op_seq"), 28);
	cr_assert_eq(jint(v, "rollback_op"), 4);
	cr_assert_eq(jint(v, "rollback_op_seq"), 37);
	cr_assert(jstr(v, "since") && jstr(v, "reason"));
	json_decref(v);
	tl_run_release(&r);

	/* unknown, ambiguous-free but absent, and malformed commits: exit 2, nothing recorded */
	SL(&r, &e, "quarantine", "lift", "abcdef12");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "'abcdef12' is not quarantined") &&
		      strstr(r.err, "shiplog quarantine list"),
		  "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "quarantine", "lift", "main");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "quarantine", "lift");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "quarantine", "frobnicate");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "status", "--json");
	v = parse_json(r.out);
	cr_assert_eq(jint(v, "seq"), 51, "a refused lift recorded something");
	json_decref(v);
	tl_run_release(&r);

	SL(&r, &e, "quarantine", "lift", "33333333", "--reason", "the 502 was the proxy");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "lifted the quarantine of 333333333333") &&
		      strstr(r.out, "verify failed"),
		  "%s", r.out);
	tl_run_release(&r);
	SL(&r, &e, "quarantine", "list");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "no quarantined commits"), "%s", r.out);
	tl_run_release(&r);
	SL(&r, &e, "status", "--json");
	v = parse_json(r.out);
	cr_assert_eq(json_array_size(json_object_get(v, "quarantine")), 0);
	cr_assert_eq(jint(v, "seq"), 52);
	json_decref(v);
	tl_run_release(&r);
	SL(&r, &e, "ledger", "export", "--since", "2020-01-01T00:00:00Z");
	cr_assert(strstr(r.out, "\"type\":\"quarantine.lifted\"") &&
		      strstr(r.out, "\"reason\":\"the 502 was the proxy\"") &&
		      strstr(r.out, "\"commit\":\"" C3 "\""),
		  "%s", r.out);
	tl_run_release(&r);
	SL(&r, &e, "audit", "--since", "2020-01-01T00:00:00Z");
	cr_assert(strstr(r.out, "quarantine lifted from 333333333333: the 502 was the proxy"), "%s",
		  r.out);
	tl_run_release(&r);
	/* lifting it again: it is no longer quarantined */
	SL(&r, &e, "quarantine", "lift", C3);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "no commit is"), "%s", r.err);
	tl_run_release(&r);
	env_free(&e);
}

/* A deploy killed in its restart phase: systemd finishes a restart it was asked for, so status
 * must not claim the old commit for a service whose restart is not recorded (found by the
 * drill: 'status says A, runs B' right after a SIGKILL). web's restart was recorded, api's not. */
Test(reads, status_says_a_restart_in_flight_is_unsettled)
{
	struct env e;
	struct tl_run r;
	json_t *st;
	char *tail, *path;

	env_new(&e, "reads-unsettled", true);
	path = xasprintf("%s/tail.jsonl", e.dir);
	tail = xasprintf(
	    "{\"seq\":52,\"type\":\"op.requested\",\"time\":\"2026-11-27T10:00:00Z\",\"op\":52,"
	    "\"actor\":\"alice@vps\"," REQ(
		"deploy", "main", "main", "", C2, "native", "\"web\",\"api\"", "0",
		"") "}\n"
		    "{\"seq\":53,\"type\":\"git.moved\",\"time\":\"2026-11-27T10:00:01Z\",\"op\":"
		    "52,"
		    "\"actor\":\"alice@vps\"," MOVED(
			C2, C4,
			"main") "}\n"
				"{\"seq\":54,\"type\":\"phase.started\",\"time\":\"2026-11-27T10:"
				"00:02Z\",\"op\":52,"
				"\"actor\":\"alice@vps\"," PSTART(
				    "restart") "}\n"
					       "{\"seq\":55,\"type\":\"unit.restarted\",\"time\":"
					       "\"2026-11-27T10:00:03Z\",\"op\":52,"
					       "\"actor\":\"alice@vps\"," RESTART(
						   "web", "native", "app-web.service", "100", "200",
						   C4) "}\n");
	tl_write(path, tail);
	SL(&r, &e, "ledger", "import", path);
	cr_assert_eq(r.exit_code, 0, "import failed (%d): %s", r.exit_code, r.err);
	tl_run_release(&r);

	SL(&r, &e, "status", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	st = parse_json(r.out);
	cr_assert_str_eq(jstr(service(st, "api"), "runtimes.native.commit"), C2);
	cr_assert_eq(jint(service(st, "api"), "runtimes.native.unsettled.op"), 52, "%s", r.out);
	cr_assert_eq(jint(service(st, "api"), "runtimes.native.unsettled.op_number"), 7, "%s",
		     r.out);
	cr_assert_str_eq(jstr(service(st, "api"), "runtimes.native.unsettled.may_run"), C4);
	cr_assert(json_is_null(json_object_get(
		      json_object_get(json_object_get(service(st, "web"), "runtimes"), "native"),
		      "unsettled")),
		  "web's restart is recorded: settled");
	cr_assert(
	    json_is_null(json_object_get(
		json_object_get(json_object_get(service(st, "compute"), "runtimes"), "native"),
		"unsettled")),
	    "compute is not in the operation's scope");
	json_decref(st);
	tl_run_release(&r);

	SL(&r, &e, "status");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "restarting?"), "%s", r.out);
	cr_assert(strstr(r.out, "api: operation 7 asked for its restart and has not recorded the "
				"result: it runs 222222222222, or 444444444444 if systemd carried "
				"the restart out"),
		  "%s", r.out);
	cr_assert(!strstr(r.out, "web: operation 7"), "web is settled: %s", r.out);
	tl_run_release(&r);
	free(tail);
	free(path);
	env_free(&e);
}

Test(reads, state_at_earlier_points_differs)
{
	struct env e;
	struct tl_run r;
	json_t *st;
	char t[40];

	env_new(&e, "reads-state", true);
	/* After op 1: api on C1, no quarantine. */
	SL(&r, &e, "state", "--at", "18", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	st = parse_json(r.out);
	cr_assert_eq(jint(st, "seq"), 18);
	cr_assert_str_eq(jstr(service(st, "api"), "runtimes.native.commit"), C1);
	cr_assert_eq(json_array_size(json_object_get(st, "quarantine")), 0);
	json_decref(st);
	tl_run_release(&r);

	/* In the middle of op 28's rollout: it is in flight. */
	SL(&r, &e, "state", "--at", "seq:31", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	st = parse_json(r.out);
	cr_assert_eq(jint(st, "inflight.op"), 28);
	cr_assert_eq(jint(st, "inflight.number"), 3);
	cr_assert_str_eq(jstr(st, "inflight.phase"), "rollout");
	cr_assert_str_eq(jstr(service(st, "web"), "runtimes.native.commit"), C3);
	json_decref(st);
	tl_run_release(&r);

	/* A time: noon of day 1 is after op 19 and before op 28. */
	fx_time(1, 2 * 3600 * 1000, t, sizeof(t));
	SL(&r, &e, "state", "--at", t, "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	st = parse_json(r.out);
	cr_assert_eq(jint(st, "seq"), 27);
	cr_assert_str_eq(jstr(service(st, "api"), "runtimes.native.commit"), C2);
	cr_assert_eq(json_array_size(json_object_get(st, "quarantine")), 0);
	json_decref(st);
	tl_run_release(&r);

	/* Text form of an in-flight state. */
	SL(&r, &e, "state", "--at", "49");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "state at seq 49"), "%s", r.out);
	cr_assert(strstr(r.out, "in flight: operation 6 (seq:47, deploy on docker)"), "%s", r.out);
	tl_run_release(&r);

	SL(&r, &e, "state", "--at", "999");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "no event 999 in this ledger (newest is 51)"), "%s", r.err);
	tl_run_release(&r);
	env_free(&e);
}

/* ---- history -------------------------------------------------------------------------------- */

static void history_ops(struct env *e, long long *ops, size_t *n, const char *a1, const char *a2)
{
	struct tl_run r;
	json_t *rows, *row;
	size_t i;

	if (a1 && a2)
		SL(&r, e, "history", "--json", a1, a2);
	else
		SL(&r, e, "history", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	rows = parse_lines(r.out);
	*n = json_array_size(rows);
	json_array_foreach(rows, i, row) ops[i] = jint(row, "op");
	json_decref(rows);
	tl_run_release(&r);
}

Test(reads, history_order_limit_filters)
{
	struct env e;
	struct tl_run r;
	long long ops[16];
	size_t n;
	char t[40];

	env_new(&e, "reads-history", true);
	history_ops(&e, ops, &n, NULL, NULL);
	cr_assert_eq(n, 6, "six operations, got %zu", n);
	cr_assert(ops[0] == 47 && ops[1] == 46 && ops[2] == 37 && ops[3] == 28 && ops[4] == 19 &&
		      ops[5] == 1,
		  "newest first");

	history_ops(&e, ops, &n, "--limit", "2");
	cr_assert_eq(n, 2);
	cr_assert_eq(ops[0], 47);
	history_ops(&e, ops, &n, "--kind", "rollback");
	cr_assert(n == 1 && ops[0] == 37);
	history_ops(&e, ops, &n, "--outcome", "rolled-back");
	cr_assert(n == 1 && ops[0] == 28);
	history_ops(&e, ops, &n, "--runtime", "docker");
	cr_assert(n == 1 && ops[0] == 47);
	history_ops(&e, ops, &n, "--service", "compute");
	cr_assert(n == 2 && ops[0] == 47 && ops[1] == 1);
	fx_time(2, 0, t, sizeof(t));
	history_ops(&e, ops, &n, "--since", t);
	cr_assert(n == 4 && ops[3] == 28, "since day 2: 47 46 37 28, got %zu", n);
	fx_time(1, 12 * 3600 * 1000, t, sizeof(t));
	history_ops(&e, ops, &n, "--until", t);
	cr_assert(n == 2 && ops[0] == 19 && ops[1] == 1, "until day 1 noon: 19 1, got %zu", n);

	/* "op" stays the id; "number" counts operations 1, 2, 3 ... in ledger order, the nested
	 * automatic rollback (37) and the refusal (46) included */
	SL(&r, &e, "history", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	{
		json_t *rows = parse_lines(r.out), *row;
		static const long long want_op[] = {47, 46, 37, 28, 19, 1};
		size_t i;

		cr_assert_eq(json_array_size(rows), 6);
		json_array_foreach(rows, i, row)
		{
			cr_assert_eq(jint(row, "op"), want_op[i]);
			cr_assert_eq(jint(row, "number"), 6 - (long long)i, "row %zu: %s", i,
				     r.out);
		}
		cr_assert_eq(jint(json_array_get(rows, 3), "rollback_op"), 37);
		cr_assert_eq(jint(json_array_get(rows, 3), "rollback_op_number"), 4);
		cr_assert_eq(jint(json_array_get(rows, 2), "reverts"), 28);
		cr_assert_eq(jint(json_array_get(rows, 2), "reverts_number"), 3);
		json_decref(rows);
	}
	tl_run_release(&r);

	SL(&r, &e, "history");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 1 + 6 + 1, "header, six rows, quarantine note: %s", r.out);
	cr_assert(strstr(r.out, "333333333333!"), "the quarantined commit is marked: %s", r.out);
	cr_assert(strstr(r.out, "rolled-back (op 4)"), "by its number: %s", r.out);
	cr_assert(strstr(r.out, "auto (op 3)"), "the rollback names what it reverts: %s", r.out);
	cr_assert(str_startswith(r.out, "    OP  STARTED"), "%s", r.out);
	cr_assert(strstr(r.out, "refused (edge)"), "%s", r.out);
	cr_assert(strstr(r.out, "interrupted"), "%s", r.out);
	cr_assert(strstr(r.out, "alice@vps"), "%s", r.out);
	cr_assert(strstr(r.out, "web,api,compute"), "%s", r.out);
	cr_assert(strstr(r.out, "branch feature"), "%s", r.out);
	/* newest first in text too */
	cr_assert(strstr(r.out, "\n     6  ") &&
		      strstr(r.out, "\n     6  ") < strstr(r.out, "\n     1  "),
		  "%s", r.out);
	cr_assert(!strstr(r.out, "    47  "), "no ids in the OP column: %s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

/* ---- show ----------------------------------------------------------------------------------- */

Test(reads, show_lists_steps_and_timings)
{
	struct env e;
	struct tl_run r;
	json_t *o;

	env_new(&e, "reads-show", true);
	SL(&r, &e, "show", "1");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(str_startswith(r.out, "operation 1 (seq:1)\n"), "%s", r.out);
	cr_assert(strstr(r.out, "== precheck =="), "%s", r.out);
	cr_assert(strstr(r.out, "$ git fetch origin main  [fetch] exit 0, 750ms"), "%s", r.out);
	cr_assert(strstr(r.out, "$ sh -c \"bun install --frozen-lockfile\""), "%s", r.out);
	cr_assert(strstr(r.out, "restarted web (islandflow-web.service, native): done, pid 100 -> "
				"200"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "health api http-get http://127.0.0.1:4000/health: ok, 2 attempts"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "git moved 000000000000 -> 111111111111 (main)"), "%s", r.out);
	cr_assert(strstr(r.out, "+2.400s"), "relative offsets: %s", r.out);
	cr_assert(strstr(r.out, "\n== Deploy Timings ==\n[deploy] precheck: 120ms\n"
				"[deploy] rollout: 2.50s\n[deploy] verify: 1.20s\n"
				"[deploy] total: 3.82s\n"),
		  "%s", r.out);
	tl_run_release(&r);

	/* The failed deploy (operation 3, id 28): the nested rollback's events are shown,
	 * indented. */
	SL(&r, &e, "show", "3");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(str_startswith(r.out, "operation 3 (seq:28)\n"), "%s", r.out);
	cr_assert(strstr(r.out, "finished: rolled-back in 8.41s, rolled back by op 4: "),
		  "the terminal event names the rollback by number: %s", r.out);
	cr_assert(strstr(r.out, "reverts op 3"), "the nested request too: %s", r.out);
	cr_assert(strstr(r.out, "health api http-get http://127.0.0.1:4000/health: FAILED, 5 "
				"attempts"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "  | rollback requested auto 'last-good'"), "%s", r.out);
	cr_assert(strstr(r.out, "  | restarted api"), "%s", r.out);
	cr_assert(strstr(r.out, "finished: rolled-back"), "%s", r.out);
	cr_assert(strstr(r.out, "[deploy] verify: 5.00s\n[deploy] total: 7.00s\n"),
		  "only the operation's own phases count: %s", r.out);
	tl_run_release(&r);

	SL(&r, &e, "show", "3", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	o = parse_json(r.out);
	cr_assert_eq(jint(o, "op"), 28);
	cr_assert_eq(jint(o, "number"), 3);
	cr_assert_str_eq(jstr(o, "outcome"), "rolled-back");
	cr_assert_eq(json_array_size(json_object_get(o, "events")), 18);
	cr_assert_eq(jint(o, "timings.total_ns"), 7000000000LL);
	cr_assert_str_eq(jstr(o, "timings.phases.1.phase"), "verify");
	cr_assert_str_eq(jstr(o, "events.1.type"), "phase.started");
	json_decref(o);
	tl_run_release(&r);
	env_free(&e);
}

/* ---- diff, audit, stats --------------------------------------------------------------------- */

Test(reads, diff_between_operations)
{
	struct env e;
	struct tl_run r;
	json_t *o, *s;
	size_t i;
	bool api = false;

	env_new(&e, "reads-diff", true);
	SL(&r, &e, "diff", "1", "2", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	o = parse_json(r.out);
	cr_assert(json_is_true(json_object_get(o, "changed")));
	json_array_foreach(json_object_get(o, "services"), i, s)
	{
		cr_assert_str_eq(jstr(s, "name"), "api", "only api changed");
		cr_assert_str_eq(jstr(s, "runtimes.native.commit.from"), C1);
		cr_assert_str_eq(jstr(s, "runtimes.native.commit.to"), C2);
		api = true;
	}
	cr_assert(api);
	json_decref(o);
	tl_run_release(&r);

	SL(&r, &e, "diff", "2", "3");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "quarantine + 333333333333 (op 3 rolled back by op 4)"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "web: native commit 111111111111 -> 222222222222"), "%s", r.out);
	tl_run_release(&r);

	SL(&r, &e, "diff", "seq:50", "now");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "no changes"), "%s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

Test(reads, audit_window_and_unknown_type)
{
	struct env e;
	struct tl_run r;
	char since[40], until[40];
	json_t *a;

	env_new(&e, "reads-audit", true);
	fx_time(2, 0, since, sizeof(since));
	fx_time(3, 0, until, sizeof(until));
	SL(&r, &e, "audit", "--since", since, "--until", until, "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	a = parse_lines(r.out);
	cr_assert_eq(json_array_size(a), 18, "day 2 holds seq 28..45");
	cr_assert_eq(jint(a, "0.seq"), 28);
	cr_assert_eq(jint(a, "17.seq"), 45);
	json_decref(a);
	tl_run_release(&r);

	fx_time(4, 0, since, sizeof(since));
	SL(&r, &e, "audit", "--since", since);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 5, "%s", r.out);
	cr_assert(strstr(r.out, "future.thing (event type unknown to this shiplog)"), "%s", r.out);
	cr_assert(strstr(r.out, "$ docker compose build compute"), "%s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

Test(reads, stats_table)
{
	struct env e;
	struct tl_run r;
	json_t *o, *p;
	size_t i;
	bool rollout = false;
	char want[128], p95[32], *row;

	env_new(&e, "reads-stats", true);
	SL(&r, &e, "stats", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	o = parse_json(r.out);
	cr_assert_eq(jint(o, "outcomes.succeeded"), 3);
	cr_assert_eq(jint(o, "outcomes.rolled-back"), 1);
	json_array_foreach(json_object_get(o, "phases"), i, p)
	{
		/* every phase has its p95, between its p90 and its p99 */
		cr_assert(json_is_integer(json_object_get(p, "p95_ns")), "%s", r.out);
		cr_assert_geq(jint(p, "p95_ns"), jint(p, "p90_ns"), "%s", r.out);
		cr_assert_leq(jint(p, "p95_ns"), jint(p, "p99_ns"), "%s", r.out);
		if (!streq(jstr(p, "phase"), "rollout"))
			continue;
		rollout = true;
		cr_assert_geq(jint(p, "count"), 4);
		cr_assert_eq(jint(p, "max_ns"), 2500000000LL);
		format_duration(jint(p, "p95_ns"), p95, sizeof(p95));
	}
	cr_assert(rollout, "%s", r.out);
	json_decref(o);
	tl_run_release(&r);

	SL(&r, &e, "stats");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out,
			 "PHASE              COUNT FAILURES       P50       P90       P95       "
			 "P99       MAX      MEAN\n"),
		  "%s", r.out);
	/* the text's P95 column is the JSON's p95_ns: the 6th column of the rollout row */
	row = strstr(r.out, "\nrollout ");
	cr_assert(row, "%s", r.out);
	{
		char cols[9][32];

		cr_assert_eq(sscanf(row + 1, "%31s %31s %31s %31s %31s %31s %31s %31s %31s",
				    cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
				    cols[7], cols[8]),
			     9, "%s", row);
		snprintf(want, sizeof(want), "%s", cols[5]);
	}
	cr_assert_str_eq(want, p95, "P95 column '%s', JSON p95 %s:\n%s", want, p95, r.out);
	cr_assert(strstr(r.out, "success rate"), "%s", r.out);
	cr_assert(strstr(r.out, "p50/p90/p95/p99 within 3.1%"), "%s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

/* ---- ledger export / import / verify / compact ---------------------------------------------- */

Test(reads, export_import_round_trip)
{
	struct env e;
	struct tl_run r;
	char *first, *second, *copy, *path, *early, *third;

	env_new(&e, "reads-roundtrip", true);
	SL(&r, &e, "ledger", "export");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 51);
	cr_assert(strstr(r.out, "\"type\":\"future.thing\""), "unknown types are exported");
	cr_assert(strstr(r.out, "\"op\":28,") && strstr(r.out, "\"number\":3"),
		  "events keep their ids, requests carry their numbers: %s", r.out);
	first = r.out;
	r.out = NULL;
	tl_run_release(&r);

	path = xasprintf("%s/export.jsonl", e.dir);
	tl_write(path, first);
	copy = xasprintf("%s/copy", e.dir);
	tl_shiplog(&r, e.dir, NULL, "--ledger", copy, "ledger", "import", path, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "--ledger", copy, "ledger", "export", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	second = r.out;
	r.out = NULL;
	tl_run_release(&r);
	cr_assert_str_eq(first, second, "import(export(x)) must export the same events");

	/* Appending to a ledger that already holds an (older) operation renumbers the operation
	 * ids of the file; importing older events after newer ones is refused. */
	early = xasprintf("%s/early.jsonl", e.dir);
	tl_write(early, "{\"type\":\"op.refused\",\"time\":\"2026-11-19T10:00:00Z\",\"actor\":"
			"\"bob@vps\",\"guard\":\"dirty-tree\",\"reason\":\"uncommitted changes\","
			"\"request\":{\"kind\":\"deploy\",\"mode\":\"main\",\"ref\":\"main\","
			"\"runtime\":\"native\"}}\n");
	third = xasprintf("%s/third", e.dir);
	tl_shiplog(&r, e.dir, NULL, "--ledger", third, "ledger", "import", early, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "--ledger", third, "ledger", "import", path, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "seq 2..52"), "%s", r.out);
	tl_run_release(&r);
	/* the refusal is operation 1 there: the file's operations are numbered 2..7, and the
	 * failed deploy (the file's 28) is operation 4 at seq:29 */
	tl_shiplog(&r, e.dir, NULL, "--ledger", third, "show", "4", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(str_startswith(r.out, "operation 4 (seq:29)\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  | rollback requested"),
		  "the nested rollback (operation 5, seq:38) is found: %s", r.out);
	cr_assert(strstr(r.out, "rolled back by op 5"), "%s", r.out);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "--ledger", third, "history", "--json", "--limit", "0", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 7, "%s", r.out);
	cr_assert(strstr(r.out, "\"op\":1,") && strstr(r.out, "\"number\":1,") &&
		      strstr(r.out, "\"op\":48,") && strstr(r.out, "\"number\":7,"),
		  "renumbered after the ledger's own operation: %s", r.out);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "--ledger", third, "ledger", "import", early, NULL);
	cr_assert_eq(r.exit_code, 2, "older events after newer ones are refused");
	cr_assert(strstr(r.err, "older than the ledger's newest event"), "%s", r.err);
	tl_run_release(&r);
	free(early);
	free(third);

	free(first);
	free(second);
	free(copy);
	free(path);
	env_free(&e);
}

Test(reads, verify_and_compact)
{
	struct env e;
	struct tl_run r;
	char *target;

	env_new(&e, "reads-verify", true);
	SL(&r, &e, "ledger", "verify");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "ok: 51 events"), "%s", r.out);
	tl_run_release(&r);

	target = xasprintf("%s/compact", e.dir);
	umask(0); /* the copy is a ledger: 0600 in a 0700 directory whatever the umask */
	SL(&r, &e, "ledger", "compact", target);
	umask(022);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	{
		_cleanup_free_ char *data = xasprintf("%s/data.mdb", target);
		struct stat st;

		cr_assert_eq(stat(data, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0600, "compact wrote data.mdb %o",
			     st.st_mode & 07777);
		cr_assert_eq(stat(target, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0700, "compact made its dir %o",
			     st.st_mode & 07777);
	}
	tl_shiplog(&r, e.dir, NULL, "--ledger", target, "ledger", "verify", NULL);
	cr_assert_eq(r.exit_code, 0, "the compacted copy verifies: %s", r.err);
	cr_assert(strstr(r.out, "ok: 51 events"), "%s", r.out);
	tl_run_release(&r);
	SL(&r, &e, "ledger", "compact", target);
	cr_assert_eq(r.exit_code, 2, "a target holding a ledger is refused");
	cr_assert(strstr(r.err, "already holds a ledger"), "%s", r.err);
	tl_run_release(&r);
	free(target);
	env_free(&e);
}

Test(reads, verify_fails_on_a_damaged_ledger)
{
	struct env e;
	struct tl_run r;
	char *data;
	FILE *f;
	long size;
	char *buf;
	size_t hits = 0;

	env_new(&e, "reads-damage", true);
	data = xasprintf("%s/data.mdb", e.ledger);
	/* Damage a value byte: the actor text "alice@vps" of every event becomes "alice\xff" + ...
	 */
	f = fopen(data, "r+b");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	buf = xmalloc((size_t)size);
	fseek(f, 0, SEEK_SET);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	for (long i = 0; i + 9 <= size; i++)
		if (memcmp(buf + i,
			   "\xa9"
			   "alice@vps",
			   10) == 0) {
			/* the fixstr header of a 9-byte string: claim 31 bytes instead */
			buf[i] = (char)0xbf;
			hits++;
			break;
		}
	if (hits == 0) {
		fclose(f);
		free(buf);
		free(data);
		env_free(&e);
		cr_skip_test(
		    "SKIPPED: could not find an event's actor bytes in data.mdb to damage");
	}
	fseek(f, 0, SEEK_SET);
	cr_assert_eq(fwrite(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	free(buf);
	free(data);

	SL(&r, &e, "ledger", "verify");
	cr_assert_eq(r.exit_code, 4, "exit %d: %s%s", r.exit_code, r.out, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line: %s", r.err);
	cr_assert(strstr(r.err, "damaged at event"), "%s", r.err);
	tl_run_release(&r);
	env_free(&e);
}

/* A flipped byte anywhere in a page header (and at a spread of offsets elsewhere) must never
 * crash verify or export: they either read the ledger (exit 0) or report it damaged (exit 4).
 * Before, some flips ended them with SIGSEGV or SIGBUS inside liblmdb. */
Test(reads, byte_flips_never_crash_verify_or_export, .timeout = 600)
{
	struct env e;
	struct tl_run r;
	char *data, *copy, *copy_data, *buf, *path, *first_crash = NULL;
	long size, page = sysconf(_SC_PAGESIZE);
	size_t len, runs = 0, damaged = 0, crashed = 0;
	FILE *f;

	/* 150 operations: a ledger of 19 pages with branch pages */
	env_new(&e, "reads-flips", false);
	path = xasprintf("%s/ops.jsonl", e.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 150; i++) {
		char t[32];

		snprintf(t, sizeof(t), "2026-11-%02d:10:%02d:00Z", 1 + i / 10, i % 60);
		t[10] = 'T';
		fprintf(f,
			"{\"seq\":%d,\"type\":\"op.requested\",\"time\":\"%s\",\"actor\":"
			"\"alice@vps\",\"op\":%d,\"kind\":\"deploy\",\"mode\":\"main\",\"ref\":"
			"\"main\",\"commit\":\"" C1 "\",\"prev_commit\":\"" C0 "\",\"runtime\":"
			"\"native\",\"services\":[\"web\",\"api\"],\"flags\":[],\"exec_mode\":"
			"\"local\",\"config_digest\":\"d\",\"reverts\":0,\"reason\":\"\","
			"\"pid\":42}\n"
			"{\"seq\":%d,\"type\":\"op.finished\",\"time\":\"%s\",\"actor\":"
			"\"alice@vps\",\"op\":%d,\"outcome\":\"succeeded\",\"error\":\"\","
			"\"duration_ns\":1000,\"rollback_op\":0}\n",
			2 * i + 1, t, 2 * i + 1, 2 * i + 2, t, 2 * i + 1);
	}
	fclose(f);
	SL(&r, &e, "ledger", "import", path);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	free(path);
	data = xasprintf("%s/data.mdb", e.ledger);
	copy = xasprintf("%s/flipped", e.dir);
	copy_data = xasprintf("%s/data.mdb", copy);
	cr_assert_eq(read_file(data, 64 << 20, &buf, &len), 0);
	size = (long)len;

	/* bytes 27 and 49 of each page (node pointers and node headers of these pages; flips
	 * there crashed liblmdb), and every 509th byte */
	for (long off = 27; off < size; off += off % page == 27		 ? 22
					       : off % page + 509 < page ? 509
									 : page - off % page + 27) {
		const char *cmds[] = {"verify", "export"};

		tl_rmrf(copy);
		cr_assert_eq(mkdir(copy, 0700), 0);
		buf[off] ^= (char)0xff;
		f = fopen(copy_data, "wb");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(buf, 1, (size_t)size, f), (size_t)size);
		fclose(f);
		buf[off] ^= (char)0xff;
		for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
			tl_shiplog(&r, e.dir, NULL, "--ledger", copy, "ledger", cmds[i], NULL);
			runs++;
			if (r.exit_code != 0 && r.exit_code != 4) {
				crashed++;
				if (!first_crash)
					first_crash = xasprintf("ledger %s, byte %ld flipped: exit "
								"%d: %s",
								cmds[i], off, r.exit_code, r.err);
			}
			if (r.exit_code == 4 && i == 0) {
				damaged++;
				cr_assert(strstr(r.err, "damaged") || strstr(r.err, "cannot open"),
					  "byte %ld: %s", off, r.err);
			}
			tl_run_release(&r);
		}
	}
	fprintf(stderr,
		"byte flips over %ld bytes: %zu runs, %zu verify reported damage, %zu "
		"crashed\n",
		size, runs, damaged, crashed);
	cr_assert_eq(crashed, 0, "%zu of %zu runs crashed; first: %s", crashed, runs, first_crash);
	cr_assert_gt(damaged, 0, "no flip was detected at all");
	free(buf);
	free(data);
	free(copy);
	free(copy_data);
	env_free(&e);
}

/* ---- errors --------------------------------------------------------------------------------- */

/* No ledger yet is a state of its own (nothing was deployed with it), exit 5: a fleet read tells
 * it from a failed read by the code, never by the words. */
Test(reads, missing_ledger_is_exit_5)
{
	struct env e;
	struct tl_run r;
	const char *cmds[] = {"status", "history", "stats"};

	env_new(&e, "reads-missing", false);
	for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
		SL(&r, &e, cmds[i]);
		cr_assert_eq(r.exit_code, 5, "%s: exit %d", cmds[i], r.exit_code);
		cr_assert_eq(count_lines(r.err), 1, "%s: one line: %s", cmds[i], r.err);
		cr_assert(strstr(r.err, "no ledger at"), "%s", r.err);
		tl_run_release(&r);
	}
	SL(&r, &e, "show", "1");
	cr_assert_eq(r.exit_code, 5);
	tl_run_release(&r);
	SL(&r, &e, "ledger", "verify");
	cr_assert_eq(r.exit_code, 5);
	tl_run_release(&r);
	cr_assert_neq(access(e.ledger, F_OK), 0, "reads never create the ledger");
	env_free(&e);
}

/* Usage before environment: arguments are parsed and checked before the ledger is opened, so a
 * usage error is exit 2 (and creates nothing) even where there is no ledger. */
Test(reads, usage_errors_come_before_the_ledger)
{
	struct env e;
	struct tl_run r;
	const char *cases[][5] = {
	    {"history", "--since", "banana"},
	    {"history", "--bogus"},
	    {"history", "--outcome", "exploded"},
	    {"show", "abc"},
	    {"show"},
	    {"state", "--at", "last tuesday"},
	    {"state"},
	    {"diff", "1", "banana"},
	    {"diff", "seq:x", "2"},
	    {"audit", "--since", "2026-13-45"},
	    {"audit"},
	    {"stats", "--last", "x"},
	    {"stats", "--runtime", "podman"},
	    {"status", "extra"},
	    {"ledger", "verify", "extra"},
	    {"ledger", "export", "--bogus"},
	    {"soak", "--bogus"},
	    {"soak", "status", "--every", "soon"},
	    {"soak", "explode"},
	};

	env_new(&e, "reads-usage-first", false);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		tl_shiplog(&r, e.dir, NULL, "--ledger", e.ledger, cases[i][0], cases[i][1],
			   cases[i][2], cases[i][3], NULL);
		cr_assert_eq(r.exit_code, 2, "%s %s %s: exit %d: %s", cases[i][0],
			     cases[i][1] ? cases[i][1] : "", cases[i][2] ? cases[i][2] : "",
			     r.exit_code, r.err);
		cr_assert(!strstr(r.err, "no ledger"), "%s: %s", cases[i][0], r.err);
		tl_run_release(&r);
		cr_assert_neq(access(e.ledger, F_OK), 0, "%s %s created the ledger", cases[i][0],
			      cases[i][1] ? cases[i][1] : "");
	}
	env_free(&e);
}

/* Only real times and plain durations: no calendar overflow (Feb 30), no wrap-around of int64
 * nanoseconds ("2600-01-01" imported as 2015), no strtod forms ("0x10s", "1e3s"). */
Test(reads, times_and_durations_are_strict)
{
	struct env e;
	struct tl_run r;
	const char *bad[] = {"2026-02-30T00:00:00Z",
			     "2025-02-29T00:00:00Z",
			     "2026-04-31T00:00:00Z",
			     "2600-01-01T00:00:00Z",
			     "2262-04-12T00:00:00Z",
			     "2026-11-27T08:00:00+24:00",
			     "0x10s",
			     "1e3s",
			     "inf",
			     "-5m",
			     "99999999999999999999d"};
	const char *good[] = {"2024-02-29T00:00:00Z", "2026-11-27T09:00:00.250+01:00", "1.5h",
			      "90m", ".5d"};
	char *path, *text;

	env_new(&e, "reads-times", true);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		SL(&r, &e, "history", "--since", bad[i]);
		cr_assert_eq(r.exit_code, 2, "--since %s: exit %d", bad[i], r.exit_code);
		cr_assert(strstr(r.err, "RFC 3339") && strstr(r.err, "1970 to 2262"), "%s", r.err);
		tl_run_release(&r);
	}
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		SL(&r, &e, "history", "--since", good[i]);
		cr_assert_eq(r.exit_code, 0, "--since %s: exit %d: %s", good[i], r.exit_code,
			     r.err);
		tl_run_release(&r);
	}
	SL(&r, &e, "soak", "status", "--every", "0x10s");
	cr_assert_eq(r.exit_code, 2, "--every 0x10s: exit %d", r.exit_code);
	tl_run_release(&r);

	/* An import of a time past 2262 is refused, not stored as a time in 2015. */
	path = xasprintf("%s/future.jsonl", e.dir);
	text = xasprintf("{\"type\":\"op.refused\",\"time\":\"2600-01-01T00:00:00Z\","
			 "\"actor\":\"bob@vps\",\"guard\":\"dirty-tree\",\"reason\":\"x\","
			 "\"request\":{\"kind\":\"deploy\",\"mode\":\"main\",\"ref\":\"main\","
			 "\"runtime\":\"native\"}}\n");
	tl_write(path, text);
	SL(&r, &e, "ledger", "import", path);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, ":1: field 'time' is not a valid time: '2600-01-01T00:00:00Z'"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "nothing was imported"), "%s", r.err);
	tl_run_release(&r);
	free(path);
	free(text);
	env_free(&e);
}

Test(reads, bad_time_and_bad_id_are_exit_2)
{
	struct env e;
	struct tl_run r;

	env_new(&e, "reads-badargs", true);
	SL(&r, &e, "history", "--since", "yesterday");
	cr_assert_eq(r.exit_code, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "'yesterday'") && strstr(r.err, "RFC 3339"), "%s", r.err);
	tl_run_release(&r);

	SL(&r, &e, "audit", "--since", "2026-13-45");
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);
	SL(&r, &e, "audit");
	cr_assert_eq(r.exit_code, 2, "--since is required");
	tl_run_release(&r);
	SL(&r, &e, "state", "--at", "last tuesday");
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);

	SL(&r, &e, "show", "abc");
	cr_assert_eq(r.exit_code, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "'abc'"), "%s", r.err);
	tl_run_release(&r);

	/* a number no operation has (the fixture has 6): exit 2, said in one line */
	SL(&r, &e, "show", "7");
	cr_assert_eq(r.exit_code, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "show: no operation 7 in this ledger (newest is 6); see 'shiplog "
				"history'"),
		  "%s", r.err);
	tl_run_release(&r);
	/* an id is not a number: 47 is operation 6's id, but there is no operation 47 */
	SL(&r, &e, "show", "47");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "no operation 47 in this ledger (newest is 6)"), "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "show", "0");
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);
	SL(&r, &e, "show", "seq:");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "'seq:'"), "%s", r.err);
	tl_run_release(&r);

	/* seq:N inside an operation names the operation to show instead */
	SL(&r, &e, "show", "seq:2");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "event 2 is not the start of an operation; it belongs to "
				"operation 1: try 'shiplog show 1'"),
		  "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "show", "seq:9999");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "no operation starts at event 9999"), "%s", r.err);
	tl_run_release(&r);

	SL(&r, &e, "diff", "1", "7");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "no operation 7 in this ledger (newest is 6); see 'shiplog "
				"history', or write seq:7 for event 7"),
		  "%s", r.err);
	tl_run_release(&r);

	SL(&r, &e, "diff", "1", "9999");
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);

	SL(&r, &e, "history", "--outcome", "exploded");
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);
	SL(&r, &e, "history", "--bogus");
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "--bogus"), "%s", r.err);
	tl_run_release(&r);
	env_free(&e);
}

static void import_expect_bad(struct env *e, const char *content, const char *needle)
{
	struct tl_run r;
	char *path = xasprintf("%s/bad.jsonl", e->dir);

	tl_write(path, content);
	SL(&r, e, "ledger", "import", path);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line: %s", r.err);
	cr_assert(strstr(r.err, needle), "expected '%s' in: %s", needle, r.err);
	cr_assert(strstr(r.err, "nothing was imported"), "%s", r.err);
	tl_run_release(&r);
	free(path);
}

Test(reads, import_rejects_bad_lines_and_imports_nothing)
{
	struct env e;
	struct tl_run r;
	char *good, *bad;
	const char *nl;

	env_new(&e, "reads-badimport", false);
	good = fixture_text();
	/* line 3 broken JSON */
	nl = strchr(strchr(good, '\n') + 1, '\n');
	bad = xasprintf("%.*s\n{\"seq\":3,\"type\":\n%s", (int)(nl - good), good, nl + 1);
	import_expect_bad(&e, bad, ":3: invalid JSON");
	free(bad);
	/* a field of the wrong type */
	bad = xasprintf("%s{\"seq\":52,\"type\":\"step.ran\",\"time\":\"2026-11-25T10:00:00Z\","
			"\"op\":47,\"argv\":[\"true\"],\"exit_code\":\"zero\"}\n",
			good);
	import_expect_bad(&e, bad, ":52: field 'exit_code' must be an integer");
	free(bad);
	/* an operation reference to nothing */
	bad =
	    xasprintf("%s{\"seq\":52,\"type\":\"phase.started\",\"time\":\"2026-11-25T10:00:00Z\","
		      "\"op\":7777,\"phase\":\"verify\"}\n",
		      good);
	import_expect_bad(&e, bad, ":52: op 7777 names no event of this file");
	free(bad);
	/* a bad time */
	bad = xasprintf("{\"type\":\"op.requested\",\"time\":\"soon\",\"kind\":\"deploy\"}\n");
	import_expect_bad(&e, bad, ":1: field 'time'");
	free(bad);
	free(good);
	cr_assert_neq(access(e.ledger, F_OK), 0, "a rejected file creates no ledger");

	/* Into an existing ledger: still nothing of the bad file lands. */
	SL(&r, &e, "ledger", "import", e.fixture);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	import_expect_bad(&e, "{\"type\":\"op.requested\"}\n", ":1: field 'time' is required");
	SL(&r, &e, "status", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"seq\":51,"), "still 51 events: %s", r.out);
	tl_run_release(&r);
	env_free(&e);
}

/* An op.requested of n services s0..s<n-1>, as one JSON line. */
static char *many_services_line(int n, const char *time)
{
	char *names = xstrdup(""), *line;

	for (int i = 0; i < n; i++) {
		char *t = xasprintf("%s%s\"s%d\"", names, i ? "," : "", i);

		free(names);
		names = t;
	}
	line = xasprintf("{\"type\":\"op.requested\",\"time\":\"%s\",\"actor\":\"bob@vps\","
			 "\"kind\":\"deploy\",\"mode\":\"main\",\"ref\":\"main\","
			 "\"runtime\":\"native\",\"services\":[%s]}\n",
			 time, names);
	free(names);
	return line;
}

/* The ledger tracks as many services as a config may name; an import that would exceed that is
 * a usage error that imports nothing and creates no ledger. */
Test(reads, import_over_the_service_limit_is_exit_2)
{
	struct env e;
	struct tl_run r;
	char *fits = many_services_line(LEDGER_MAX_SERVICES, "2026-11-30T10:00:00Z");
	char *over = many_services_line(LEDGER_MAX_SERVICES + 1, "2026-11-30T10:00:00Z");
	char *fits_path, *over_path, *fresh;

	env_new(&e, "reads-limit", true);
	fits_path = xasprintf("%s/fits.jsonl", e.dir);
	over_path = xasprintf("%s/over.jsonl", e.dir);
	fresh = xasprintf("%s/fresh", e.dir);
	tl_write(fits_path, fits);
	tl_write(over_path, over);

	tl_shiplog(&r, e.dir, NULL, "--ledger", fresh, "ledger", "import", fits_path, NULL);
	cr_assert_eq(r.exit_code, 0, "%d services fit: exit %d: %s", LEDGER_MAX_SERVICES,
		     r.exit_code, r.err);
	tl_run_release(&r);
	tl_rmrf(fresh);

	tl_shiplog(&r, e.dir, NULL, "--ledger", fresh, "ledger", "import", over_path, NULL);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line: %s", r.err);
	cr_assert(strstr(r.err, "over.jsonl:1: the ledger would track more than"), "%s", r.err);
	cr_assert(strstr(r.err, "nothing was imported"), "%s", r.err);
	tl_run_release(&r);
	cr_assert_neq(access(fresh, F_OK), 0, "a refused import leaves no ledger behind");

	/* Into a ledger that already tracks services: the sum counts, and nothing lands. */
	SL(&r, &e, "ledger", "import", fits_path);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
	cr_assert(strstr(r.err, "more than"), "%s", r.err);
	tl_run_release(&r);
	SL(&r, &e, "status", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"seq\":51,"), "still 51 events: %s", r.out);
	tl_run_release(&r);

	free(fits);
	free(over);
	free(fits_path);
	free(over_path);
	free(fresh);
	env_free(&e);
}

Test(reads, global_options_after_the_command)
{
	struct env e;
	struct tl_run a, b;

	env_new(&e, "reads-late", true);
	/* "shiplog history --ledger DIR --json" reads like "shiplog --ledger DIR --json history" */
	tl_shiplog(&a, e.dir, NULL, "--ledger", e.ledger, "--json", "history", NULL);
	tl_shiplog(&b, e.dir, NULL, "history", "--ledger", e.ledger, "--json", NULL);
	cr_assert_eq(b.exit_code, 0, "%s", b.err);
	cr_assert_str_eq(a.out, b.out);
	tl_run_release(&b);
	tl_shiplog(&b, e.dir, NULL, "history", "--json", "--ledger=%s", NULL);
	cr_assert_eq(b.exit_code, 5, "a --ledger= value is taken as the path: %s", b.err);
	tl_run_release(&b);
	tl_run_release(&a);
	env_free(&e);
}

/* Ledger text from outside (an imported ref, actor, error, health detail, soak name) carries
 * terminal controls: ESC sequences (colour, a window-title OSC ended by BEL), a carriage return
 * a DEL and a UTF-8 C1 CSI. No text read command lets one reach the terminal as a control byte;
 * they show as \xNN text. --json stays valid JSON with the text as it was. */
#define EVIL_REF "evil\\u001b[31m\\u007f"
#define EVIL_ACTOR "mallory\\u001b]0;title\\u0007"
#define EVIL_DETAIL "HTTP 502\\r\\u009b2J"
static const char *const evil_lines[] = {
    "{\"seq\":52,\"type\":\"op.requested\",\"time\":\"2026-11-25T10:00:00Z\",\"op\":52,"
    "\"actor\":\"" EVIL_ACTOR
    "\"," REQ("deploy", "ref", EVIL_REF, C4, C2, "native", "\"api\"", "0", "") "}",
    "{\"seq\":53,\"type\":\"phase.started\",\"time\":\"2026-11-25T10:00:01Z\",\"op\":52,"
    "\"actor\":\"" EVIL_ACTOR "\"," PSTART("verify") "}",
    "{\"seq\":54,\"type\":\"health.checked\",\"time\":\"2026-11-25T10:00:02Z\",\"op\":52,"
    "\"actor\":\"" EVIL_ACTOR
    "\"," HEALTH("api", "http-get", "http://127.0.0.1:4000/health", "false", "1", EVIL_DETAIL) "}",
    "{\"seq\":55,\"type\":\"phase.finished\",\"time\":\"2026-11-25T10:00:03Z\",\"op\":52,"
    "\"actor\":\"" EVIL_ACTOR "\"," PFIN("verify", "100", "false", "api: " EVIL_DETAIL) "}",
    "{\"seq\":56,\"type\":\"op.finished\",\"time\":\"2026-11-25T10:00:04Z\",\"op\":52,"
    "\"actor\":\"" EVIL_ACTOR
    "\"," FIN("failed", "4000", "verify failed: " EVIL_DETAIL " \\u001b[31m", "0") "}",
    "{\"seq\":57,\"type\":\"soak.started\",\"time\":\"2026-11-25T10:01:00Z\",\"op\":0,"
    "\"actor\":\"" EVIL_ACTOR "\",\"name\":\"s\\u001b[31m\",\"services\":[\"api\"]}",
    "{\"seq\":58,\"type\":\"unit.observed\",\"time\":\"2026-11-25T10:01:10Z\",\"op\":0,"
    "\"actor\":\"" EVIL_ACTOR "\",\"service\":\"api\",\"runtime\":\"native\","
    "\"active_state\":\"failed\\u001b[31m\",\"sub_state\":\"dead\\r\",\"restarts\":1,"
    "\"pid\":0,\"memory_bytes\":0}",
};

Test(reads, terminal_controls_are_escaped_in_text_output)
{
	static const char *const cmds[][5] = {
	    {"status"},		 {"history"},	     {"history", "-v"}, {"show", "7"},
	    {"show", "7", "-v"}, {"diff", "2", "7"}, {"state"},		{"state", "--at", "57"},
	    {"stats"},		 {"soak", "report"},
	};
	struct env e;
	struct tl_run r;
	char *text = fixture_text();
	struct buf b = {0};
	bool saw_esc = false, saw_cr = false, saw_c1 = false, saw_bel = false, saw_del = false;

	env_new(&e, "reads-escape", false);
	buf_printf(&b, "%s", text);
	for (size_t i = 0; i < sizeof(evil_lines) / sizeof(evil_lines[0]); i++)
		buf_printf(&b, "%s\n", evil_lines[i]);
	tl_write(e.fixture, b.data);
	SL(&r, &e, "ledger", "import", e.fixture);
	cr_assert_eq(r.exit_code, 0, "import failed (%d): %s", r.exit_code, r.err);
	tl_run_release(&r);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *const *c = cmds[i];
		char *what =
		    xasprintf("%s %s %s", c[0], c[1] ? c[1] : "", c[1] && c[2] ? c[2] : "");

		tl_shiplog(&r, e.dir, NULL, "--ledger", e.ledger, c[0], c[1], c[2], c[3], NULL);
		tl_assert_no_controls(what, r.out);
		tl_assert_no_controls(what, r.err);
		saw_esc |= strstr(r.out, "\\x1b[31m") != NULL;
		saw_bel |= strstr(r.out, "\\x07") != NULL;
		saw_cr |= strstr(r.out, "\\x0d") != NULL;
		saw_c1 |= strstr(r.out, "\\xc2\\x9b") != NULL;
		saw_del |= strstr(r.out, "\\x7f") != NULL;
		free(what);
		tl_run_release(&r);
	}
	SL(&r, &e, "audit", "--since", "2026-11-20T00:00:00Z");
	tl_assert_no_controls("audit", r.out);
	tl_assert_no_controls("audit", r.err);
	cr_assert(strstr(r.out, "mallory\\x1b]0;title\\x07"), "audit shows the actor: %s", r.out);
	tl_run_release(&r);
	cr_assert(saw_esc && saw_bel && saw_cr && saw_c1 && saw_del,
		  "the escaped forms are visible (esc %d bel %d cr %d c1 %d del %d)", saw_esc,
		  saw_bel, saw_cr, saw_c1, saw_del);

	/* --json: valid JSON carrying the original text, no \x escapes added */
	SL(&r, &e, "show", "seq:52", "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	{
		json_t *j = parse_json(r.out);

		cr_assert(strstr(r.out, "evil\\u001B[31m"), "json keeps jansson's escape: %s",
			  r.out);
		cr_assert_null(strstr(r.out, "\\\\x1b"), "no double escaping: %s", r.out);
		json_decref(j);
	}
	tl_run_release(&r);
	/* ledger export: JSON lines, byte-exact (jansson leaves DEL raw, which JSON allows) */
	SL(&r, &e, "ledger", "export");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	json_decref(parse_lines(r.out));
	cr_assert(strstr(r.out, "evil\\u001B[31m\x7f\""), "export keeps the ref: %s", r.out);
	tl_run_release(&r);
	free(b.data);
	free(text);
	env_free(&e);
}

/* The value of the first sample line that starts with `series ` in metrics text; -1 if none. */
static double metric_value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return -1;
}

/* `shiplog metrics` agrees with `status --json` on every count it shares, passes promtool's
 * check (Debian's prometheus package; tools/test.sh installs it), and -o writes the same text
 * atomically, readable by the collector. */
Test(reads, metrics_agree_with_status_and_pass_promtool)
{
	struct env e;
	struct tl_run m, s, o;
	json_t *st, *outcomes;
	const char *name;
	json_t *v;
	char *prom, *written, *series;

	env_new(&e, "reads-metrics", true);
	SL(&m, &e, "metrics");
	cr_assert_eq(m.exit_code, 0, "%s", m.err);
	SL(&s, &e, "status", "--json");
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	st = parse_json(s.out);
	outcomes = json_object_get(json_object_get(st, "counters"), "outcomes");
	cr_assert(json_object_size(outcomes) >= 4);
	json_object_foreach(outcomes, name, v)
	{
		series = xasprintf("shiplog_operations_total{outcome=\"%s\"}", name);
		cr_assert_eq(metric_value(m.out, series), (double)json_integer_value(v), "%s in %s",
			     series, m.out);
		free(series);
	}
	cr_assert_eq(metric_value(m.out, "shiplog_quarantined_commits"),
		     (double)json_array_size(json_object_get(st, "quarantine")));
	cr_assert_eq(
	    metric_value(m.out, "shiplog_ledger_events_total"),
	    (double)json_integer_value(json_object_get(json_object_get(st, "counters"), "events")));
	cr_assert(
	    strstr(m.out, "shiplog_phase_duration_seconds_bucket{phase=\"verify\",le=\"+Inf\"}"),
	    "phase histograms: %s", m.out);
	cr_assert(strstr(m.out, "shiplog_service_info{service=\"web\""), "%s", m.out);
	cr_assert(strstr(m.out, "shiplog_lock_held 0\n"), "%s", m.out);

	prom = xasprintf("%s/shiplog.prom", e.dir);
	SL(&o, &e, "metrics", "-o", prom);
	cr_assert_eq(o.exit_code, 0, "%s", o.err);
	written = tl_read(prom);
	/* the same text but for the time it was written */
	cr_assert(written && strstr(written, "shiplog_operations_total{outcome=\"succeeded\"}"));
	cr_assert_eq(tl_sh("test \"$(stat -c %%a '%s')\" = 644", prom), 0,
		     "0644 for the collector");
	if (tl_sh("command -v promtool >/dev/null") != 0) {
		cr_skip_test("SKIPPED: promtool is not installed (apt-get install prometheus; "
			     "tools/test.sh does)");
	}
	cr_assert_eq(tl_sh("promtool check metrics < '%s' >&2", prom), 0,
		     "promtool check metrics accepts it: %s", written);
	tl_run_release(&o);
	SL(&o, &e, "metrics", "--openmetrics");
	cr_assert(strlen(o.out) > 6 && streq(o.out + strlen(o.out) - 6, "# EOF\n"), "%s", o.out);
	cr_assert(strstr(o.out, "# TYPE shiplog_operations counter\n"), "%s", o.out);
	free(written);
	free(prom);
	json_decref(st);
	tl_run_release(&o);
	tl_run_release(&s);
	tl_run_release(&m);
	env_free(&e);
}

/* What the bash completion offers after the words given (the last one is being completed), run
 * in dir by a real bash sourcing the script `shiplog completion bash` printed. One line. */
static char *complete_v(const char *dir, const char *script, const char *const *words)
{
	static const char driver[] = "source \"$1\"; shift; COMP_WORDS=(\"$@\"); "
				     "COMP_CWORD=$(($# - 1)); _shiplog; echo \"${COMPREPLY[*]}\"";
	const char *argv[16] = {"bash", "-c", driver, "_", script, SHIPLOG_BINARY};
	size_t n = 6;
	struct tl_run r;
	char *reply;

	for (; *words && n < ELEMENTSOF(argv) - 1; words++)
		argv[n++] = *words;
	argv[n] = NULL;
	tl_run(&r, dir, NULL, (char *const *)argv);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	reply = xstrdup(r.out);
	tl_run_release(&r);
	return reply;
}
#define complete(dir, script, ...)                                                                 \
	complete_v((dir), (script), (const char *const[]){__VA_ARGS__, NULL})

/* The completion script is written from the command table and asks shiplog for the config's
 * services and the ledger's operations. */
Test(reads, bash_completion_offers_commands_options_services_and_operations)
{
	struct env e;
	struct tl_run r;
	char *script, *got;

	env_new(&e, "reads-complete", true);
	tl_shiplog(&r, e.dir, NULL, "init", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "completion", "bash", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	script = xasprintf("%s/shiplog.bash", e.dir);
	tl_write(script, r.out);
	tl_run_release(&r);

	got = complete(e.dir, script, "");
	for (size_t i = 0; i < cmd_table_len; i++) {
		char *w = xasprintf(" %s ", cmd_table[i]->name), *padded = xasprintf(" %s ", got);
		cr_assert(strstr(padded, w), "every command is offered: %s missing from %s",
			  cmd_table[i]->name, got);
		free(w);
		free(padded);
	}
	free(got);
	got = complete(e.dir, script, "hist");
	cr_assert_str_eq(got, "history\n");
	free(got);
	got = complete(e.dir, script, "history", "--");
	for (const struct option *o = cmd_history.options; o->name; o++) {
		char *w = xasprintf("--%s", o->name);
		cr_assert(strstr(got, w), "history's %s is offered: %s", w, got);
		free(w);
	}
	free(got);
	got = complete(e.dir, script, "ledger", "");
	cr_assert_str_eq(got, "verify export import compact\n");
	free(got);
	/* the starter config's services, from the config found in the directory */
	got = complete(e.dir, script, "logs", "");
	cr_assert(str_startswith(got, "web api "), "%s", got);
	free(got);
	got = complete(e.dir, script, "deploy", "--pieces", "");
	cr_assert(strstr(got, "compute"), "%s", got);
	free(got);
	/* operation numbers of the ledger named on the command line, newest first */
	got = complete(e.dir, script, "--ledger", e.ledger, "show", "");
	cr_assert(str_startswith(got, "6 5 4 "), "the newest operation first, by number: %s", got);
	free(got);
	/* no config, no ledger: nothing, and nothing on stderr */
	tl_shiplog(&r, "/", NULL, "completion", "--list", "ops", NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_str_eq(r.out, "");
	cr_assert_str_eq(r.err, "");
	tl_run_release(&r);
	if (tl_sh("command -v zsh >/dev/null") == 0) {
		tl_shiplog(&r, e.dir, NULL, "completion", "zsh", NULL);
		tl_write(script, r.out);
		cr_assert_eq(tl_sh("zsh -n '%s'", script), 0, "the zsh script parses");
		tl_run_release(&r);
	}
	free(script);
	env_free(&e);
}

/* A file imported with credentials in a URL (written by hand, or by another tool) never puts
 * them in the ledger: import redacts like every other way into it. */
Test(reads, import_redacts_url_secrets)
{
	char *dir = tl_mkdtemp("reads-import-secret");
	char *file = xasprintf("%s/in.jsonl", dir), *ledger = xasprintf("%s/ledger", dir);
	struct tl_run r;

	tl_write(file, "{\"seq\":1,\"type\":\"op.requested\",\"time\":\"2026-12-01T10:00:00Z\","
		       "\"op\":1,\"actor\":\"a@b\",\"kind\":\"deploy\",\"mode\":\"ref\","
		       "\"ref\":\"https://alice:hunter2@git.example.com/app.git?token=abc123\","
		       "\"commit\":\"\",\"runtime\":\"native\",\"services\":[\"web\"],"
		       "\"flags\":[\"http://bob:s3cret@proxy.example.com/\"]}\n");
	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "ledger", "import", file, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "ledger", "export", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "https://***@git.example.com/app.git?token=***"), "%s", r.out);
	cr_assert_null(strstr(r.out, "hunter2"), "%s", r.out);
	cr_assert_null(strstr(r.out, "abc123"), "%s", r.out);
	cr_assert_null(strstr(r.out, "s3cret"), "a list element is redacted too: %s", r.out);
	cr_assert_eq(tl_sh("! grep -rq hunter2 '%s'", ledger), 0, "not in the ledger's bytes");
	tl_run_release(&r);
	free(file);
	free(ledger);
	tl_rmrf(dir);
	free(dir);
}

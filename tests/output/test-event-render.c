/* SPDX-License-Identifier: MIT */
/* Events out and back in, driven by the ledger's field table: the one-line text and the JSON of
 * every type as they were before the table drove them (golden, from the per-type code this
 * replaced), the round trip of every field of every type (export then import, encode then
 * decode, give the same event), and text templates that name only fields the table has. A
 * field added to the table is filled, exported, imported and compared here without a change to
 * this file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonl.h"
#include "text.h"

/* ---- golden: the output before the table drove it ------------------------------------------ */

static const char *argv3[] = {"git", "fetch", "origin main"};
static const char *svc2[] = {"web", "api"};
static const char *fl2[] = {"fast", "force"};
static const char *tg[] = {"web=abc", "api=def"};

static void fill_request(struct ledger_op_requested *r, int variant)
{
	r->kind = "deploy";
	if (variant == 0) {
		r->mode = "branch";
		r->ref = "feature/x";
		r->commit = "0123456789abcdef0123456789abcdef01234567";
		r->prev_commit = "fedcba9876543210fedcba9876543210fedcba98";
		r->runtime = LEDGER_RT_DOCKER;
		r->services = (struct ledger_strv){2, svc2};
		r->flags = (struct ledger_strv){2, fl2};
		r->exec_mode = "ssh";
		r->config_digest = "c0ffee";
		r->reverts = 12;
		r->reason = "manual";
		r->pid = 4242;
		r->targets = (struct ledger_strv){2, tg};
	} else {
		r->mode = "main";
		r->ref = "main";
		r->commit = "";
		r->prev_commit = "";
	}
}

static void fill(struct ledger_event *ev, enum ledger_event_type t, int variant)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->seq = 5;
	ev->version = 1;
	ev->time_ns = 1700000000123456789ll;
	ev->op = 3;
	ev->actor = "alice@vps";
	switch (t) {
	case LEDGER_EV_OP_REQUESTED:
		fill_request(&ev->u.op_requested, variant);
		break;
	case LEDGER_EV_OP_REFUSED:
		if (variant == 0)
			fill_request(&ev->u.op_refused.req, 0);
		ev->u.op_refused.guard = variant == 1 ? "" : "edge";
		ev->u.op_refused.reason = "edge roles need an acknowledgement";
		break;
	case LEDGER_EV_OP_FINISHED:
		ev->u.op_finished.outcome = variant ? LEDGER_OUT_SUCCEEDED : LEDGER_OUT_ROLLED_BACK;
		ev->u.op_finished.error = variant ? "" : "verify failed";
		ev->u.op_finished.duration_ns = 123456789;
		ev->u.op_finished.rollback_op = variant ? 0 : 80;
		break;
	case LEDGER_EV_PHASE_STARTED:
		ev->u.phase.name = "public-verify";
		break;
	case LEDGER_EV_PHASE_FINISHED:
		ev->u.phase.name = "public-verify";
		ev->u.phase.duration_ns = 987654321;
		ev->u.phase.ok = variant;
		ev->u.phase.error = variant ? "" : "timeout";
		break;
	case LEDGER_EV_STEP_RAN:
		ev->u.step_ran.argv = (struct ledger_strv){3, argv3};
		ev->u.step_ran.cwd = variant ? "" : "/srv/app";
		ev->u.step_ran.exit_code = variant ? 0 : -1;
		ev->u.step_ran.duration_ns = 5000000;
		ev->u.step_ran.what = variant ? "" : "fetch";
		ev->u.step_ran.output = variant ? "" : "line1\nline2";
		break;
	case LEDGER_EV_GIT_MOVED:
		ev->u.git_moved.from = variant ? "" : "aaaa";
		ev->u.git_moved.to = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
		ev->u.git_moved.ref = variant ? "" : "main";
		ev->u.git_moved.path = variant ? "" : "/srv/app";
		ev->u.git_moved.config_digest = variant ? "" : "c0ffeec0ffeec0ffeec0ffee";
		break;
	case LEDGER_EV_UNIT_RESTARTED:
		ev->u.unit_restarted.service = "api";
		ev->u.unit_restarted.runtime = variant ? LEDGER_RT_NATIVE : LEDGER_RT_DOCKER;
		ev->u.unit_restarted.unit = "islandflow-api.service";
		ev->u.unit_restarted.result = variant ? "" : "done";
		ev->u.unit_restarted.duration_ns = 31000000;
		ev->u.unit_restarted.before = variant ? "" : "1234";
		ev->u.unit_restarted.after = "5678";
		ev->u.unit_restarted.commit = variant ? "" : "cccc";
		ev->u.unit_restarted.detail = variant ? "Result: exit-code\nline a\nline b" : "";
		break;
	case LEDGER_EV_HEALTH_CHECKED:
		ev->u.health_checked.service = "web";
		ev->u.health_checked.runtime = LEDGER_RT_DOCKER;
		ev->u.health_checked.kind = "http-head";
		ev->u.health_checked.target = "http://127.0.0.1:3000/";
		ev->u.health_checked.ok = variant == 0;
		ev->u.health_checked.attempts = variant == 2 ? 1 : 3;
		ev->u.health_checked.latency_ns = 4500000;
		ev->u.health_checked.detail = "HTTP/1.1 200 OK";
		ev->u.health_checked.cut_short = variant == 1;
		break;
	case LEDGER_EV_OWNER_CHANGED:
		ev->u.owner_changed.service = "compute";
		ev->u.owner_changed.from = variant ? "" : "native";
		ev->u.owner_changed.to = "docker";
		break;
	case LEDGER_EV_LOCK_BROKEN:
		ev->u.lock_broken.holder_pid = 999;
		ev->u.lock_broken.holder = variant ? "" : "bob@vps";
		ev->u.lock_broken.holder_op = variant ? 0 : 12;
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		ev->u.soak.name = "nightly";
		ev->u.soak.services =
		    variant ? (struct ledger_strv){0} : (struct ledger_strv){2, svc2};
		ev->u.soak.summary = t == LEDGER_EV_SOAK_STOPPED && !variant ? "2 restarts" : "";
		break;
	case LEDGER_EV_UNIT_OBSERVED:
		ev->u.unit_observed.service = "candles";
		ev->u.unit_observed.runtime = LEDGER_RT_DOCKER;
		ev->u.unit_observed.active_state = "active";
		ev->u.unit_observed.sub_state = "running";
		ev->u.unit_observed.restarts = 2;
		ev->u.unit_observed.pid = 31337;
		ev->u.unit_observed.memory_bytes = 5000000000ull;
		break;
	case LEDGER_EV_BUILD_COMPLETED:
		ev->u.build_completed.path = variant ? "" : "/srv/app";
		ev->u.build_completed.commit = "dddd";
		break;
	default:
		ev->type_name = "future.thing";
		break;
	}
}

struct golden {
	int type, variant;
	const char *out;
};

/* Rendered with no ledger to look operation numbers up in: an operation id shows as seq:N. */
static const struct golden text_golden[] = {
    {0, 0, "future.thing (event type unknown to this shiplog)"},
    {0, 1, "future.thing (event type unknown to this shiplog)"},
    {0, 2, "future.thing (event type unknown to this shiplog)"},
    {1, 0,
     "deploy requested branch 'feature/x' on docker: fedcba987654 -> 0123456789ab, services "
     "web,api, flags fast,force, reverts op seq:12 (manual), ssh, pid 4242"},
    {1, 1, "deploy requested main on native: - -> -, services all"},
    {1, 2, "deploy requested main on native: - -> -, services all"},
    {2, 0,
     "deploy refused branch 'feature/x' on docker: fedcba987654 -> 0123456789ab, services web,api, "
     "flags fast,force, reverts op seq:12 (manual), ssh, pid 4242; guard edge: edge roles need an "
     "acknowledgement"},
    {2, 1, "refused: guard -: edge roles need an acknowledgement"},
    {2, 2, "refused: guard edge: edge roles need an acknowledgement"},
    {3, 0, "finished: rolled-back in 123ms, rolled back by op seq:80: verify failed"},
    {3, 1, "finished: succeeded in 123ms"},
    {3, 2, "finished: succeeded in 123ms"},
    {4, 0, "== public-verify =="},
    {4, 1, "== public-verify =="},
    {4, 2, "== public-verify =="},
    {5, 0, "-- public-verify FAILED in 987ms: timeout"},
    {5, 1, "-- public-verify ok in 987ms"},
    {5, 2, "-- public-verify ok in 987ms"},
    {6, 0, "$ git fetch \"origin main\"  [fetch] not started, 5ms in /srv/app"},
    {6, 1, "$ git fetch \"origin main\"  exit 0, 5ms"},
    {6, 2, "$ git fetch \"origin main\"  exit 0, 5ms"},
    {7, 0, "git moved aaaa -> bbbbbbbbbbbb (main) in /srv/app, config sha256 c0ffeec0ffee"},
    {7, 1, "git moved - -> bbbbbbbbbbbb"},
    {7, 2, "git moved - -> bbbbbbbbbbbb"},
    {8, 0,
     "restarted api (islandflow-api.service, docker): done, container 1234 -> 5678, 31ms, at cccc"},
    {8, 1,
     "restarted api (islandflow-api.service, native): -, pid - -> 5678, 31ms: Result: exit-code\n  "
     "                 | line a\n                   | line b"},
    {8, 2,
     "restarted api (islandflow-api.service, native): -, pid - -> 5678, 31ms: Result: exit-code\n  "
     "                 | line a\n                   | line b"},
    {9, 0, "health web http-head http://127.0.0.1:3000/: ok, 3 attempts, 4ms: HTTP/1.1 200 OK"},
    {9, 1,
     "health web http-head http://127.0.0.1:3000/: cut short, 3 attempts, 4ms: HTTP/1.1 200 OK"},
    {9, 2, "health web http-head http://127.0.0.1:3000/: FAILED, 1 attempt, 4ms: HTTP/1.1 200 OK"},
    {10, 0, "owner of compute: native -> docker"},
    {10, 1, "owner of compute: none -> docker"},
    {10, 2, "owner of compute: none -> docker"},
    {11, 0, "lock broken: holder pid 999 (bob@vps, op 12)"},
    {11, 1, "lock broken: holder pid 999 (?)"},
    {11, 2, "lock broken: holder pid 999 (?)"},
    {12, 0, "soak 'nightly' started, services web,api"},
    {12, 1, "soak 'nightly' started, services all"},
    {12, 2, "soak 'nightly' started, services all"},
    {13, 0, "soak 'nightly' stopped, services web,api: 2 restarts"},
    {13, 1, "soak 'nightly' stopped, services all"},
    {13, 2, "soak 'nightly' stopped, services all"},
    {14, 0, "observed candles (docker): active/running, 2 restarts, pid 31337, 4882812 KiB"},
    {14, 1, "observed candles (docker): active/running, 2 restarts, pid 31337, 4882812 KiB"},
    {14, 2, "observed candles (docker): active/running, 2 restarts, pid 31337, 4882812 KiB"},
    {15, 0, "build completed at dddd in /srv/app"},
    {15, 1, "build completed at dddd"},
    {15, 2, "build completed at dddd"},
};

static const struct golden json_golden[] = {
    {0, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"future.thing\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\"}"},
    {0, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"future.thing\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\"}"},
    {0, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"future.thing\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\"}"},
    {1, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"op.requested\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"kind\":\"deploy\","
     "\"mode\":\"branch\",\"ref\":\"feature/"
     "x\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\",\"prev_commit\":"
     "\"fedcba9876543210fedcba9876543210fedcba98\",\"runtime\":\"docker\",\"services\":[\"web\","
     "\"api\"],\"flags\":[\"fast\",\"force\"],\"exec_mode\":\"ssh\",\"config_digest\":\"c0ffee\","
     "\"reverts\":12,\"reason\":\"manual\",\"pid\":4242,\"targets\":[\"web=abc\",\"api=def\"]}"},
    {1, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"op.requested\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"kind\":\"deploy\","
     "\"mode\":\"main\",\"ref\":\"main\",\"commit\":\"\",\"prev_commit\":\"\",\"runtime\":"
     "\"native\",\"services\":[],\"flags\":[],\"exec_mode\":\"\",\"config_digest\":\"\","
     "\"reverts\":0,\"reason\":\"\",\"pid\":0,\"targets\":[]}"},
    {1, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"op.requested\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"kind\":\"deploy\","
     "\"mode\":\"main\",\"ref\":\"main\",\"commit\":\"\",\"prev_commit\":\"\",\"runtime\":"
     "\"native\",\"services\":[],\"flags\":[],\"exec_mode\":\"\",\"config_digest\":\"\","
     "\"reverts\":0,\"reason\":\"\",\"pid\":0,\"targets\":[]}"},
    {2, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"op.refused\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"guard\":\"edge\","
     "\"reason\":\"edge roles need an "
     "acknowledgement\",\"request\":{\"kind\":\"deploy\",\"mode\":\"branch\",\"ref\":\"feature/"
     "x\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\",\"prev_commit\":"
     "\"fedcba9876543210fedcba9876543210fedcba98\",\"runtime\":\"docker\",\"services\":[\"web\","
     "\"api\"],\"flags\":[\"fast\",\"force\"],\"exec_mode\":\"ssh\",\"config_digest\":\"c0ffee\","
     "\"reverts\":12,\"reason\":\"manual\",\"pid\":4242,\"targets\":[\"web=abc\",\"api=def\"]}}"},
    {2, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"op.refused\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"guard\":\"\",\"reason\":"
     "\"edge roles need an acknowledgement\"}"},
    {2, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"op.refused\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"guard\":\"edge\","
     "\"reason\":\"edge roles need an acknowledgement\"}"},
    {3, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"op.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"outcome\":\"rolled-back\","
     "\"error\":\"verify failed\",\"duration_ns\":123456789,\"rollback_op\":80}"},
    {3, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"op.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"outcome\":\"succeeded\","
     "\"error\":\"\",\"duration_ns\":123456789,\"rollback_op\":0}"},
    {3, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"op.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"outcome\":\"succeeded\","
     "\"error\":\"\",\"duration_ns\":123456789,\"rollback_op\":0}"},
    {4, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-"
     "verify\"}"},
    {4, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-"
     "verify\"}"},
    {4, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-"
     "verify\"}"},
    {5, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-verify\","
     "\"duration_ns\":987654321,\"ok\":false,\"error\":\"timeout\"}"},
    {5, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-verify\","
     "\"duration_ns\":987654321,\"ok\":true,\"error\":\"\"}"},
    {5, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"phase.finished\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"phase\":\"public-verify\","
     "\"duration_ns\":987654321,\"ok\":true,\"error\":\"\"}"},
    {6, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"step.ran\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"argv\":[\"git\",\"fetch\","
     "\"origin "
     "main\"],\"cwd\":\"/srv/"
     "app\",\"exit_code\":-1,\"duration_ns\":5000000,\"what\":\"fetch\",\"output\":"
     "\"line1\\nline2\"}"},
    {6, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"step.ran\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"argv\":[\"git\",\"fetch\","
     "\"origin main\"],\"cwd\":\"\",\"exit_code\":0,\"duration_ns\":5000000,\"what\":\"\"}"},
    {6, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"step.ran\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"argv\":[\"git\",\"fetch\","
     "\"origin main\"],\"cwd\":\"\",\"exit_code\":0,\"duration_ns\":5000000,\"what\":\"\"}"},
    {7, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"git.moved\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"from\":\"aaaa\",\"to\":"
     "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"ref\":\"main\",\"path\":\"/srv/"
     "app\",\"config_digest\":\"c0ffeec0ffeec0ffeec0ffee\"}"},
    {7, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"git.moved\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"from\":\"\",\"to\":"
     "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"ref\":\"\",\"path\":\"\",\"config_digest\":\"\"}"},
    {7, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"git.moved\",\"time\":\"2023-11-14T22:13:20.123Z\",\"time_"
     "ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"from\":\"\",\"to\":"
     "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"ref\":\"\",\"path\":\"\",\"config_digest\":\"\"}"},
    {8, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.restarted\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"api\","
     "\"runtime\":\"docker\",\"unit\":\"islandflow-api.service\",\"result\":\"done\",\"duration_"
     "ns\":31000000,\"before\":\"1234\",\"after\":\"5678\",\"commit\":\"cccc\",\"detail\":\"\"}"},
    {8, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.restarted\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"api\","
     "\"runtime\":\"native\",\"unit\":\"islandflow-api.service\",\"result\":\"\",\"duration_ns\":"
     "31000000,\"before\":\"\",\"after\":\"5678\",\"commit\":\"\",\"detail\":\"Result: "
     "exit-code\\nline a\\nline b\"}"},
    {8, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.restarted\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"api\","
     "\"runtime\":\"native\",\"unit\":\"islandflow-api.service\",\"result\":\"\",\"duration_ns\":"
     "31000000,\"before\":\"\",\"after\":\"5678\",\"commit\":\"\",\"detail\":\"Result: "
     "exit-code\\nline a\\nline b\"}"},
    {9, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"health.checked\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"web\","
     "\"runtime\":\"docker\",\"kind\":\"http-head\",\"target\":\"http://127.0.0.1:3000/"
     "\",\"ok\":true,\"attempts\":3,\"latency_ns\":4500000,\"detail\":\"HTTP/1.1 200 OK\"}"},
    {9, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"health.checked\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"web\","
     "\"runtime\":\"docker\",\"kind\":\"http-head\",\"target\":\"http://127.0.0.1:3000/"
     "\",\"ok\":false,\"attempts\":3,\"latency_ns\":4500000,\"detail\":\"HTTP/1.1 200 "
     "OK\",\"cut_short\":true}"},
    {9, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"health.checked\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"web\","
     "\"runtime\":\"docker\",\"kind\":\"http-head\",\"target\":\"http://127.0.0.1:3000/"
     "\",\"ok\":false,\"attempts\":1,\"latency_ns\":4500000,\"detail\":\"HTTP/1.1 200 OK\"}"},
    {10, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"owner.changed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"compute\","
     "\"from\":\"native\",\"to\":\"docker\"}"},
    {10, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"owner.changed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"compute\","
     "\"from\":\"\",\"to\":\"docker\"}"},
    {10, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"owner.changed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"compute\","
     "\"from\":\"\",\"to\":\"docker\"}"},
    {11, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"lock.broken\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"holder_pid\":999,"
     "\"holder\":\"bob@vps\",\"holder_op\":12}"},
    {11, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"lock.broken\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"holder_pid\":999,"
     "\"holder\":\"\",\"holder_op\":0}"},
    {11, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"lock.broken\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"holder_pid\":999,"
     "\"holder\":\"\",\"holder_op\":0}"},
    {12, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[\"web\",\"api\"]}"},
    {12, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[]}"},
    {12, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.started\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[]}"},
    {13, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.stopped\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[\"web\",\"api\"],\"summary\":\"2 restarts\"}"},
    {13, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.stopped\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[],\"summary\":\"\"}"},
    {13, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"soak.stopped\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"name\":\"nightly\","
     "\"services\":[],\"summary\":\"\"}"},
    {14, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.observed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"candles\","
     "\"runtime\":\"docker\",\"active_state\":\"active\",\"sub_state\":\"running\",\"restarts\":2,"
     "\"pid\":31337,\"memory_bytes\":5000000000}"},
    {14, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.observed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"candles\","
     "\"runtime\":\"docker\",\"active_state\":\"active\",\"sub_state\":\"running\",\"restarts\":2,"
     "\"pid\":31337,\"memory_bytes\":5000000000}"},
    {14, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"unit.observed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"service\":\"candles\","
     "\"runtime\":\"docker\",\"active_state\":\"active\",\"sub_state\":\"running\",\"restarts\":2,"
     "\"pid\":31337,\"memory_bytes\":5000000000}"},
    {15, 0,
     "{\"seq\":5,\"version\":1,\"type\":\"build.completed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"path\":\"/srv/"
     "app\",\"commit\":\"dddd\"}"},
    {15, 1,
     "{\"seq\":5,\"version\":1,\"type\":\"build.completed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"path\":\"\",\"commit\":"
     "\"dddd\"}"},
    {15, 2,
     "{\"seq\":5,\"version\":1,\"type\":\"build.completed\",\"time\":\"2023-11-14T22:13:20.123Z\","
     "\"time_ns\":1700000000123456789,\"op\":3,\"actor\":\"alice@vps\",\"path\":\"\",\"commit\":"
     "\"dddd\"}"},
};

Test(event_render, text_is_as_before)
{
	for (size_t i = 0; i < sizeof(text_golden) / sizeof(text_golden[0]); i++) {
		const struct golden *g = &text_golden[i];
		struct ledger_event ev;
		struct buf b = {0};

		fill(&ev, (enum ledger_event_type)g->type, g->variant);
		render_event_text(&b, &ev);
		cr_expect_str_eq(b.data, g->out, "%s variant %d", ledger_event_type_name(g->type),
				 g->variant);
		buf_free(&b);
	}
}

Test(event_render, json_is_as_before)
{
	for (size_t i = 0; i < sizeof(json_golden) / sizeof(json_golden[0]); i++) {
		const struct golden *g = &json_golden[i];
		struct ledger_event ev;
		json_t *j;
		char *s;

		fill(&ev, (enum ledger_event_type)g->type, g->variant);
		j = render_event_json(&ev);
		s = json_dumps(j, JSON_COMPACT);
		cr_expect_str_eq(s, g->out, "%s variant %d", ledger_event_type_name(g->type),
				 g->variant);
		free(s);
		json_decref(j);
	}
}

/* ---- every field of the table -------------------------------------------------------------- */

static const char *two[] = {"first value", "second"};

/* Every field of type t set to a value that is not zero, from the table alone. */
static void fill_all(struct ledger_event *ev, enum ledger_event_type t)
{
	size_t n;
	const struct ledger_field *f = ledger_event_fields(t, &n);

	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->version = LEDGER_SCHEMA_VERSION;
	ev->seq = 9;
	ev->time_ns = 1700000000000000000ll;
	ev->op = 9;
	ev->actor = "bob@host";
	for (size_t i = 0; i < n; i++) {
		void *v = ledger_event_field_mut(ev, &f[i]);

		switch (f[i].kind) {
		case LEDGER_FIELD_STR:
			/* an operation's kind is one of two words; any other string is its name */
			*(const char **)v =
			    strcmp(f[i].key, "k") == 0 &&
				    (t == LEDGER_EV_OP_REQUESTED || t == LEDGER_EV_OP_REFUSED)
				? "rollback"
				: f[i].name;
			break;
		case LEDGER_FIELD_STRV:
			*(struct ledger_strv *)v = (struct ledger_strv){2, two};
			break;
		case LEDGER_FIELD_U64:
			*(uint64_t *)v = 1000 + i;
			break;
		case LEDGER_FIELD_I64:
			*(int64_t *)v = -(int64_t)(2000 + i); /* signed on purpose */
			break;
		case LEDGER_FIELD_U32:
			*(uint32_t *)v = 3000 + (uint32_t)i;
			break;
		case LEDGER_FIELD_I32:
			*(int32_t *)v = -(int32_t)(4000 + i);
			break;
		case LEDGER_FIELD_BOOL:
			*(bool *)v = true;
			break;
		case LEDGER_FIELD_RUNTIME:
			*(enum ledger_runtime *)v = LEDGER_RT_DOCKER;
			break;
		case LEDGER_FIELD_OUTCOME:
			*(enum ledger_outcome *)v = LEDGER_OUT_INTERRUPTED;
			break;
		}
	}
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static bool field_equal(const struct ledger_field *f, const void *a, const void *b)
{
	switch (f->kind) {
	case LEDGER_FIELD_STR:
		return strcmp(nz(*(const char *const *)a), nz(*(const char *const *)b)) == 0;
	case LEDGER_FIELD_STRV: {
		const struct ledger_strv *x = a, *y = b;

		if (x->n != y->n)
			return false;
		for (uint32_t i = 0; i < x->n; i++)
			if (strcmp(nz(x->v[i]), nz(y->v[i])) != 0)
				return false;
		return true;
	}
	case LEDGER_FIELD_U64:
	case LEDGER_FIELD_I64:
		return memcmp(a, b, 8) == 0;
	case LEDGER_FIELD_U32:
	case LEDGER_FIELD_I32:
		return memcmp(a, b, 4) == 0;
	case LEDGER_FIELD_BOOL:
		return *(const bool *)a == *(const bool *)b;
	case LEDGER_FIELD_RUNTIME:
		return *(const enum ledger_runtime *)a == *(const enum ledger_runtime *)b;
	case LEDGER_FIELD_OUTCOME:
		return *(const enum ledger_outcome *)a == *(const enum ledger_outcome *)b;
	}
	return false;
}

struct compare {
	const struct ledger_event *other;
	const char *how;
};

static int compare_field(const struct ledger_field *f, const void *v, void *ud)
{
	struct compare *c = ud;

	cr_expect(field_equal(f, v, ledger_event_field(c->other, f)), "%s: %s field '%s' differs",
		  c->how, ledger_event_type_name(c->other->type), f->name);
	return 0;
}

static void expect_same_event(const struct ledger_event *a, const struct ledger_event *b,
			      const char *how)
{
	struct compare c = {b, how};

	cr_expect_eq(a->type, b->type, "%s", how);
	cr_expect_eq(a->time_ns, b->time_ns, "%s", how);
	cr_expect_eq(a->op, b->op, "%s", how);
	cr_expect_str_eq(nz(a->actor), nz(b->actor), "%s", how);
	ledger_event_visit(a, compare_field, &c);
}

/* Every field shows in the JSON under its name (a request's under "request"). */
static int expect_in_json(const struct ledger_field *f, const void *v, void *ud)
{
	json_t *o = ud;

	(void)v;
	if (f->flags & LEDGER_FIELD_REQUEST)
		o = json_object_get(o, "request");
	cr_expect_not_null(json_object_get(o, f->name), "field '%s' is not in the JSON", f->name);
	return 0;
}

Test(event_render, every_field_round_trips_through_json_and_msgpack)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		struct ledger_event ev, back, dec;
		struct pool pool = {0};
		json_error_t jerr;
		char err[256] = "", *text;
		json_t *j, *again;
		bool has_seq;
		uint8_t *buf;
		size_t len;

		fill_all(&ev, (enum ledger_event_type)t);
		ev.type_name = ledger_event_type_name(ev.type);

		/* JSON: export, print, parse, import */
		j = render_event_json(&ev);
		ledger_event_visit(&ev, expect_in_json, j);
		text = json_dumps(j, JSON_COMPACT);
		again = json_loads(text, 0, &jerr);
		cr_assert_not_null(again, "%s", jerr.text);
		cr_assert_eq(render_event_parse(again, &back, &has_seq, &pool, err, sizeof(err)), 0,
			     "%s: %s", ledger_event_type_name(t), err);
		cr_expect(has_seq);
		cr_expect_eq(back.seq, ev.seq);
		expect_same_event(&ev, &back, "json");
		free(text);
		json_decref(again);
		json_decref(j);
		pool_free(&pool);

		/* msgpack: the same table drives the wire */
		cr_assert_eq(ledger_event_encode(&ev, &buf, &len), 0, "%s",
			     ledger_event_type_name(t));
		cr_assert_eq(ledger_event_decode(buf, len, &dec, err, sizeof(err)), 0, "%s", err);
		expect_same_event(&ev, &dec, "msgpack");
		ledger_event_release(&dec);
		free(buf);
	}
}

/* Import: a standalone op.refused without "request" has an empty request; the runtime of a
 * unit event must be named; an outcome must be one. */
Test(event_render, import_rules_from_the_table)
{
	static const struct {
		const char *json;
		const char *err; /* NULL: parses */
	} cases[] = {
	    {"{\"type\":\"op.refused\",\"time_ns\":1,\"reason\":\"no\"}", NULL},
	    {"{\"type\":\"unit.restarted\",\"time_ns\":1,\"service\":\"web\"}",
	     "field 'runtime' is required (native or docker)"},
	    {"{\"type\":\"unit.restarted\",\"time_ns\":1,\"runtime\":\"podman\"}",
	     "field 'runtime' must be native or docker"},
	    {"{\"type\":\"op.requested\",\"time_ns\":1,\"kind\":\"deploy\"}", NULL},
	    {"{\"type\":\"op.finished\",\"time_ns\":1}",
	     "field 'outcome' must be succeeded, failed, rolled-back, interrupted or refused"},
	    {"{\"type\":\"step.ran\",\"time_ns\":1,\"exit_code\":\"1\"}",
	     "field 'exit_code' must be an integer"},
	    {"{\"type\":\"op.refused\",\"time_ns\":1,\"request\":[]}",
	     "field 'request' must be an object"},
	    {"{\"type\":\"op.refused\",\"time_ns\":1,\"request\":{\"pid\":-1}}",
	     "field 'pid' is out of range"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_event ev;
		struct pool pool = {0};
		json_t *j = json_loads(cases[i].json, 0, NULL);
		char err[256] = "";
		bool has_seq;
		int r = render_event_parse(j, &ev, &has_seq, &pool, err, sizeof(err));

		if (cases[i].err) {
			cr_expect_eq(r, -EINVAL, "%s", cases[i].json);
			cr_expect_str_eq(err, cases[i].err, "%s", cases[i].json);
		} else {
			cr_expect_eq(r, 0, "%s: %s", cases[i].json, err);
			if (ev.type == LEDGER_EV_OP_REFUSED) {
				cr_expect_str_eq(ev.u.op_refused.req.kind, "");
				cr_expect_str_eq(ev.u.op_refused.req.exec_mode, "");
			}
		}
		json_decref(j);
		pool_free(&pool);
	}
}

/* Every {name} of every template is a field of its type ("request.NAME" one of the request a
 * standalone op.refused carries), and every conversion is one the renderer knows. */
static const struct ledger_field *field_named(enum ledger_event_type t, const char *name,
					      size_t len)
{
	unsigned want = 0;
	size_t n;
	const struct ledger_field *f = ledger_event_fields(t, &n);

	if (len > 8 && memcmp(name, "request.", 8) == 0) {
		name += 8;
		len -= 8;
		want = LEDGER_FIELD_REQUEST;
	}
	for (size_t i = 0; i < n; i++)
		if ((f[i].flags & LEDGER_FIELD_REQUEST) == want && strlen(f[i].name) == len &&
		    memcmp(f[i].name, name, len) == 0)
			return &f[i];
	return NULL;
}

Test(event_render, templates_name_only_table_fields)
{
	static const char *convs[] = {"short", "dur",	"dash", "none", "unk",	"all",
				      "argv",  "lines", "kib",	"s",	"exit", "op"};

	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		const char *s = ledger_event_type_text(t);
		int refs = 0;

		cr_assert(s && *s, "%s has no text template", ledger_event_type_name(t));
		for (const char *p = s; *p; p++) {
			size_t n;
			const char *q;

			if (*p == '\\') {
				p++;
				continue;
			}
			if (*p != '{')
				continue;
			n = strcspn(p + 1, ":!?}");
			cr_expect_not_null(field_named(t, p + 1, n), "%s: '{%.*s' names no field",
					   ledger_event_type_name(t), (int)n, p + 1);
			refs++;
			q = p + 1 + n;
			if (*q == '!') {
				size_t m = strcspn(q + 1, ":}");

				cr_expect_not_null(field_named(t, q + 1, m), "%s: '!%.*s'",
						   ledger_event_type_name(t), (int)m, q + 1);
				q += 1 + m;
			}
			if (*q == ':') {
				size_t m = strcspn(q + 1, "}");
				bool known = false;

				for (size_t c = 0; c < sizeof(convs) / sizeof(convs[0]); c++)
					known |= strlen(convs[c]) == m &&
						 memcmp(convs[c], q + 1, m) == 0;
				cr_expect(known, "%s: conversion ':%.*s'",
					  ledger_event_type_name(t), (int)m, q + 1);
			}
		}
		cr_expect_gt(refs, 0, "%s: a template without fields", ledger_event_type_name(t));
	}
}

/* With every field set, no type's line has the "?" the renderer prints for a name it does not
 * know. */
Test(event_render, text_of_every_type_with_every_field)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		struct ledger_event ev;
		struct buf b = {0};

		fill_all(&ev, (enum ledger_event_type)t);
		render_event_text(&b, &ev);
		cr_expect(b.len > 0 && !strchr(b.data, '?'), "%s: %s", ledger_event_type_name(t),
			  b.data);
		buf_free(&b);
	}
}

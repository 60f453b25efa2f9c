/* SPDX-License-Identifier: MIT */
#include "soak.h"

#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "compose.h"
#include "journal.h"
#include "out.h"

#define SOAK_LINE_MAX 240

bool soak_line_is_error(const struct config *cfg, const char *line, int priority)
{
	return config_line_is_error(cfg, line, priority);
}

/* Keeps the newest `keep` lines and the counts. */
struct collect {
	const struct config *cfg;
	struct soak_logs *out;
	size_t keep;
};

static void collect_line(struct collect *c, const char *line, int priority)
{
	struct soak_logs *l = c->out;

	l->total++;
	if (soak_line_is_error(c->cfg, line, priority))
		l->errors++;
	if (!c->keep)
		return;
	if (l->lines.n == c->keep) {
		free(l->lines.v[0]);
		memmove(l->lines.v, l->lines.v + 1, (l->lines.n - 1) * sizeof(char *));
		l->lines.n--;
		l->lines.v[l->lines.n] = NULL;
	}
	strv_push(&l->lines, line);
}

static int journal_cb(void *ud, uint64_t t_us, int priority, const char *line)
{
	(void)t_us;
	collect_line(ud, line, priority);
	return 0;
}

/* A docker logs line: "2026-12-01T21:36:22.157123456Z message" -> "21:36:22 message", every
 * control byte shown as \xNN, cut at SOAK_LINE_MAX bytes. */
static char *docker_line(const char *raw)
{
	struct buf b = {0};
	const char *msg = raw;

	if (strlen(raw) > 20 && raw[4] == '-' && raw[10] == 'T' && strchr(raw, ' ')) {
		buf_printf(&b, "%.8s ", raw + 11);
		msg = strchr(raw, ' ') + 1;
	}
	for (size_t i = 0; msg[i] && i < SOAK_LINE_MAX; i++) {
		unsigned char ch = (unsigned char)msg[i];
		if (ch == '\r' && !msg[i + 1])
			break;
		if (ch < 0x20 || ch == 0x7f)
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_append(&b, &ch, 1);
	}
	return b.data ? b.data : xstrdup("");
}

void soak_logs_read(const struct config *cfg, const struct service *s, int runtime,
		    int64_t since_ns, int64_t until_ns, struct soak_logs *out)
{
	struct collect c = {.cfg = cfg, .out = out, .keep = cfg->soak.log_lines};

	memset(out, 0, sizeof(*out));
	if (runtime == LEDGER_RT_DOCKER) {
		struct compose *cp = NULL;
		struct strv raw = {0};
		int verbosity = out_settings.verbosity;

		/* compose_open says which engine answers: not part of a report */
		out_settings.verbosity = -1;
		if (compose_open(&cp, NULL, cfg->target.checkout, cfg->docker.workdir,
				 cfg->docker.project, out->err, sizeof(out->err)) == 0 &&
		    compose_logs_lines(cp, s->compose ? s->compose : s->name, since_ns, until_ns,
				       &raw, out->err, sizeof(out->err)) == 0) {
			out->read = true;
			for (size_t i = 0; i < raw.n; i++) {
				_cleanup_free_ char *line = docker_line(raw.v[i]);
				collect_line(&c, line, -1);
			}
		}
		out_settings.verbosity = verbosity;
		strv_free(&raw);
		compose_free(cp);
		return;
	}
	if (cfg->native.log_dir) {
		snprintf(out->err, sizeof(out->err),
			 "[runtime native] log_dir is set: its files have no times");
		return;
	}
	if (!journal_available(out->err, sizeof(out->err)))
		return;
	{
		struct journal_query q = {.unit = s->unit,
					  .user = cfg->native.manager == MANAGER_USER,
					  .since_us = (uint64_t)since_ns / 1000,
					  .until_us = until_ns ? (uint64_t)until_ns / 1000 : 0};
		out->read = journal_scan(&q, journal_cb, &c, out->err, sizeof(out->err)) == 0;
	}
}

void soak_logs_release(struct soak_logs *l)
{
	strv_free(&l->lines);
}

void soak_logs_print(const char *service, int runtime, const struct soak_logs *l)
{
	printf("logs of %s (%s): ", service, ledger_runtime_name(runtime));
	if (!l->read) {
		printf("not read: %s\n", l->err);
		return;
	}
	printf("%zu line%s, %zu error line%s", l->total, l->total == 1 ? "" : "s", l->errors,
	       l->errors == 1 ? "" : "s");
	if (l->total > l->lines.n)
		printf(", the last %zu:\n", l->lines.n);
	else
		printf("%s\n", l->lines.n ? ":" : "");
	for (size_t k = 0; k < l->lines.n; k++)
		printf("  | %s\n", l->lines.v[k]);
}

bool soak_judge(const struct config *cfg, const char *service, const struct soak_figures *f,
		struct strv *reasons)
{
	bool pass = true;

	if (!f->samples) {
		strv_push_take(reasons, xasprintf("%s: no samples", service));
		return false;
	}
	if (f->restarts > cfg->soak.max_restarts) {
		strv_push_take(reasons,
			       xasprintf("%s: %u restart%s (at most %u)", service, f->restarts,
					 f->restarts == 1 ? "" : "s", cfg->soak.max_restarts));
		pass = false;
	}
	if (f->inactive > cfg->soak.max_not_active) {
		strv_push_take(reasons, xasprintf("%s: %u sample%s not active (at most %u)",
						  service, f->inactive, f->inactive == 1 ? "" : "s",
						  cfg->soak.max_not_active));
		pass = false;
	}
	if (f->errors_known && f->errors > cfg->soak.max_error_lines) {
		strv_push_take(reasons,
			       xasprintf("%s: %zu error line%s (at most %u)", service, f->errors,
					 f->errors == 1 ? "" : "s", cfg->soak.max_error_lines));
		pass = false;
	}
	if (cfg->soak.max_memory_growth_pct && f->first_memory &&
	    f->last_memory > f->first_memory) {
		uint64_t growth = (f->last_memory - f->first_memory) * 100 / f->first_memory;
		if (growth > cfg->soak.max_memory_growth_pct) {
			strv_push_take(reasons, xasprintf("%s: memory grew %llu%% (at most %u%%)",
							  service, (unsigned long long)growth,
							  cfg->soak.max_memory_growth_pct));
			pass = false;
		}
	}
	return pass;
}

static void figures_text(struct buf *b, const struct soak_figures *f)
{
	double hours = f->duration_ns > 0 ? (double)f->duration_ns / 3.6e12 : 0;

	buf_printf(b, "%s %.1f restarts/h, ", ledger_runtime_name(f->runtime),
		   hours > 0 ? f->restarts / hours : 0.0);
	if (f->errors_known)
		buf_printf(b, "%.1f errors/h, ", hours > 0 ? (double)f->errors / hours : 0.0);
	else
		buf_printf(b, "errors unknown, ");
	if (f->peak_memory)
		buf_printf(b, "peak %.1fMB", (double)f->peak_memory / 1048576.0);
	else
		buf_printf(b, "peak memory unknown");
}

char *soak_compare(const char *service, const struct soak_figures *now,
		   const struct soak_figures *prev)
{
	struct buf b = {0};

	buf_printf(&b, "%s: ", service);
	figures_text(&b, now);
	buf_printf(&b, " vs ");
	figures_text(&b, prev);
	return b.data;
}

static bool named_in(const struct ledger_strv *only, const char *name)
{
	for (uint32_t i = 0; i < only->n; i++)
		if (streq(only->v[i], name))
			return true;
	return false;
}

void soak_logs_print_window(const struct config *cfg, struct ledger *lg, uint64_t at_seq,
			    const struct ledger_strv *only, int64_t since_ns, int64_t until_ns)
{
	struct ledger_state *st = xmalloc(sizeof(*st));
	bool have = ledger_state_at(lg, at_seq, st) == 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct service *s = &cfg->services[i];
		const struct ledger_service_state *ss =
		    have ? ledger_state_service(st, s->name) : NULL;
		int rt = ss && ss->owner == LEDGER_RT_DOCKER ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
		struct soak_logs l;

		if (only && !named_in(only, s->name))
			continue;
		soak_logs_read(cfg, s, rt, since_ns, until_ns, &l);
		printf("\n");
		soak_logs_print(s->name, rt, &l);
		soak_logs_release(&l);
	}
	free(st);
}

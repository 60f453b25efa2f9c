/* SPDX-License-Identifier: MIT */
/* Colour: the one rule that decides it (--color, NO_COLOR, CLICOLOR_FORCE, a terminal, TERM),
 * the tone of each outcome and event, and that only stdout and stderr are ever coloured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <ledger/ledger.h>

#include "out.h"
#include "text.h"
#include "timings.h"

Test(color, parse_accepts_the_three_words_and_their_synonyms)
{
	enum out_color_mode m = OUT_COLOR_NEVER;

	cr_assert_eq(out_color_parse("auto", &m), 0);
	cr_assert_eq(m, OUT_COLOR_AUTO);
	cr_assert_eq(out_color_parse("always", &m), 0);
	cr_assert_eq(m, OUT_COLOR_ALWAYS);
	cr_assert_eq(out_color_parse("never", &m), 0);
	cr_assert_eq(m, OUT_COLOR_NEVER);
	cr_assert_eq(out_color_parse("yes", &m), 0);
	cr_assert_eq(m, OUT_COLOR_ALWAYS);
	cr_assert_eq(out_color_parse("no", &m), 0);
	cr_assert_eq(m, OUT_COLOR_NEVER);
	cr_assert_lt(out_color_parse("sometimes", &m), 0);
	cr_assert_lt(out_color_parse("", &m), 0);
	cr_assert_lt(out_color_parse(NULL, &m), 0);
}

Test(color, decide_follows_flag_then_no_color_then_force_then_terminal)
{
	static const struct {
		enum out_color_mode mode;
		bool tty;
		const char *term, *no_color, *force;
		bool want;
	} cases[] = {
	    {OUT_COLOR_ALWAYS, false, NULL, NULL, NULL, true},
	    {OUT_COLOR_ALWAYS, false, "dumb", "1", NULL, true}, /* the flag beats NO_COLOR */
	    {OUT_COLOR_NEVER, true, "xterm", NULL, "1", false},
	    {OUT_COLOR_AUTO, true, "xterm-256color", NULL, NULL, true},
	    {OUT_COLOR_AUTO, false, "xterm", NULL, NULL, false}, /* piped */
	    {OUT_COLOR_AUTO, true, "dumb", NULL, NULL, false},
	    {OUT_COLOR_AUTO, true, NULL, NULL, NULL, false}, /* no TERM: as dumb */
	    {OUT_COLOR_AUTO, true, "", NULL, NULL, false},
	    {OUT_COLOR_AUTO, true, "xterm", "1", NULL, false},
	    {OUT_COLOR_AUTO, true, "xterm", "anything", NULL, false},
	    {OUT_COLOR_AUTO, true, "xterm", "", NULL, true}, /* empty NO_COLOR: not set */
	    {OUT_COLOR_AUTO, false, NULL, NULL, "1", true},
	    {OUT_COLOR_AUTO, false, "xterm", NULL, "0", false},
	    {OUT_COLOR_AUTO, false, "xterm", NULL, "", false},
	    {OUT_COLOR_AUTO, false, "xterm", "1", "1", false}, /* NO_COLOR wins */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(out_color_decide(cases[i].mode, cases[i].tty, cases[i].term,
					      cases[i].no_color, cases[i].force),
			     cases[i].want, "case %zu", i);
}

Test(color, every_outcome_has_its_tone)
{
	cr_assert_eq(out_tone_outcome("succeeded"), OUT_TONE_OK);
	cr_assert_eq(out_tone_outcome("failed"), OUT_TONE_FAIL);
	cr_assert_eq(out_tone_outcome("rolled-back"), OUT_TONE_WARN);
	cr_assert_eq(out_tone_outcome("rolled-back (op 37)"), OUT_TONE_WARN);
	cr_assert_eq(out_tone_outcome("refused"), OUT_TONE_REFUSED);
	cr_assert_eq(out_tone_outcome("refused (edge)"), OUT_TONE_REFUSED);
	cr_assert_eq(out_tone_outcome("interrupted"), OUT_TONE_ERROR);
	cr_assert_eq(out_tone_outcome("running"), OUT_TONE_ACTIVE);
	cr_assert_eq(out_tone_outcome("unfinished"), OUT_TONE_NONE);
	cr_assert_eq(out_tone_outcome(NULL), OUT_TONE_NONE);
	/* the ledger's own names, every one of them */
	for (int o = LEDGER_OUT_SUCCEEDED; o < LEDGER_OUT__COUNT; o++)
		cr_expect_neq(out_tone_outcome(ledger_outcome_name((enum ledger_outcome)o)),
			      OUT_TONE_NONE, "outcome %s",
			      ledger_outcome_name((enum ledger_outcome)o));
}

Test(color, event_tones)
{
	struct ledger_event ev = {0};

	ev.type = LEDGER_EV_PHASE_STARTED;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_HEADER);
	ev.type = LEDGER_EV_PHASE_FINISHED;
	ev.u.phase.ok = true;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_NONE);
	ev.u.phase.ok = false;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_FAIL);
	ev.type = LEDGER_EV_OP_REFUSED;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_REFUSED);
	memset(&ev.u, 0, sizeof(ev.u));
	ev.type = LEDGER_EV_OP_FINISHED;
	ev.u.op_finished.outcome = LEDGER_OUT_ROLLED_BACK;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_WARN);
	ev.type = LEDGER_EV_STEP_RAN;
	cr_assert_eq(render_event_tone(&ev), OUT_TONE_NONE);
}

/* What the code under test writes to "stdout", with stdout a memory stream for the while. */
struct capture {
	FILE *saved, *f;
	char *text;
	size_t len;
};

static void capture_begin(struct capture *c)
{
	c->saved = stdout;
	c->f = open_memstream(&c->text, &c->len);
	cr_assert_not_null(c->f);
	stdout = c->f;
}

static char *capture_end(struct capture *c)
{
	fclose(c->f);
	stdout = c->saved;
	return c->text;
}

Test(color, paint_colours_stdout_only_when_decided_and_never_under_json)
{
	struct capture c;
	char *other_text = NULL, *s;
	size_t other_len = 0;
	FILE *other;

	out_settings.json = false;
	out_color_setup(OUT_COLOR_ALWAYS);
	capture_begin(&c);
	out_paint(stdout, OUT_TONE_OK, "%-11s|", "succeeded");
	other = open_memstream(&other_text, &other_len); /* a file written with -o */
	out_paint(other, OUT_TONE_OK, "%s", "succeeded");
	fclose(other);
	out_settings.json = true;
	out_paint(stdout, OUT_TONE_FAIL, "%s", "|failed");
	out_settings.json = false;
	s = capture_end(&c);
	cr_assert_str_eq(s, "\033[32msucceeded  |\033[0m|failed");
	cr_assert_str_eq(other_text, "succeeded");
	free(s);
	free(other_text);

	out_color_setup(OUT_COLOR_NEVER);
	capture_begin(&c);
	out_paint(stdout, OUT_TONE_OK, "%s", "succeeded");
	s = capture_end(&c);
	cr_assert_str_eq(s, "succeeded");
	free(s);
}

Test(color, headers_and_end_lines)
{
	struct capture c;
	struct render_timings t = {0};
	char *s;

	out_settings.json = false;
	out_settings.verbosity = 0;
	out_color_setup(OUT_COLOR_ALWAYS);
	capture_begin(&c);
	out_phase("Verify");
	out_say_tone(OUT_TONE_OK, "Operation %d succeeded", 7);
	out_say("plain");
	render_timings_add(&t, "verify", 1000000);
	render_timings_print(stdout, &t);
	render_op_header(stdout);
	s = capture_end(&c);
	cr_assert(strstr(s, "\n\033[1m== Verify ==\033[0m\n"), "%s", s);
	cr_assert(strstr(s, "[deploy] \033[32mOperation 7 succeeded\033[0m\n"), "%s", s);
	cr_assert(strstr(s, "[deploy] plain\n"), "%s", s);
	cr_assert(strstr(s, "\033[1m== Deploy Timings ==\033[0m\n[deploy] verify: "), "%s", s);
	cr_assert(strstr(s, "\033[1m    OP  STARTED"), "%s", s);
	free(s);

	out_color_setup(OUT_COLOR_NEVER);
	capture_begin(&c);
	out_phase("Verify");
	render_timings_print(stdout, &t);
	s = capture_end(&c);
	cr_assert_null(strchr(s, '\033'), "%s", s);
	free(s);
}

/* A cut-over's or a rollback's transcript says which operation it is, not [deploy]. */
Test(color, transcript_prefix_names_the_operation)
{
	struct capture c;
	char *s;

	out_settings.json = false;
	out_settings.verbosity = 0;
	out_color_setup(OUT_COLOR_NEVER);
	out_settings.tag = "cutover";
	capture_begin(&c);
	out_say("plain");
	out_say_tone(OUT_TONE_OK, "Operation %d succeeded", 8);
	s = capture_end(&c);
	out_settings.tag = NULL;
	cr_assert_str_eq(s, "[cutover] plain\n[cutover] Operation 8 succeeded\n");
	free(s);
	capture_begin(&c);
	out_say("plain");
	s = capture_end(&c);
	cr_assert_str_eq(s, "[deploy] plain\n", "the default prefix changed");
	free(s);

	/* show N of a cut-over prints its block as the cut-over did */
	{
		struct render_timings t = {.kind = "cutover"};
		render_timings_add(&t, "stop", 37000000);
		capture_begin(&c);
		render_timings_print(stdout, &t);
		s = capture_end(&c);
		cr_assert_str_eq(s,
				 "\n== Cutover Timings ==\n[cutover] stop: 37ms\n[cutover] total: "
				 "37ms\n");
		free(s);
	}
}

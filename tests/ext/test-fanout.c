/* SPDX-License-Identifier: MIT */
/* fanout_run: every job's result in its own slot, stdout apart from stderr, a deadline per job,
 * and the jobs at the same time (each one waits for all the others to have started). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout.h"
#include "testlib.h"
#include "util.h"

Test(fanout, results_in_order_with_stderr_apart)
{
	char *dir = tl_mkdtemp("fanout"), *err = xasprintf("%s/err", dir), *text = NULL;
	char *a[] = {"/bin/sh", "-c", "echo one; echo noise >&2", NULL};
	char *b[] = {"/bin/sh", "-c", "echo two; exit 3", NULL};
	char *c[] = {"/nonexistent/program", NULL};
	struct fanout_job jobs[] = {{.argv = a, .stderr_path = err}, {.argv = b}, {.argv = c}};
	struct fanout_result res[3];
	size_t len;

	cr_assert_eq(fanout_run(jobs, 3, 2, 0, res), 0);
	cr_assert_str_eq(res[0].res.output, "one\n");
	cr_assert_eq(read_file(err, 4096, &text, &len), 0);
	cr_assert_str_eq(text, "noise\n");
	cr_assert_str_eq(res[1].res.output, "two\n");
	cr_assert_eq(res[1].res.exit_code, 3);
	cr_assert_eq(res[2].r, -ENOENT);
	fanout_results_release(res, 3);
	free(text), free(err);
	tl_rmrf(dir);
	free(dir);
}

/* Each job marks that it started, then waits (up to 20 s) until all have: with one at a time
 * the first would wait alone and be stopped by its deadline. */
Test(fanout, jobs_run_at_once_each_with_its_deadline)
{
	char *dir = tl_mkdtemp("fanout"), *line;
	char *argv[] = {"/bin/sh", "-c", NULL, NULL};
	char *slow[] = {"/bin/sleep", "30", NULL};
	struct fanout_job jobs[5];
	struct fanout_result res[5];

	line = xasprintf("touch %s/$$; i=0; while [ $(ls %s | wc -l) -lt 4 ] && [ $i -lt 400 ]; "
			 "do sleep 0.05; i=$((i+1)); done; ls %s | wc -l",
			 dir, dir, dir);
	argv[2] = line;
	for (int i = 0; i < 4; i++)
		jobs[i] = (struct fanout_job){.argv = argv};
	jobs[4] = (struct fanout_job){.argv = slow};
	cr_assert_eq(fanout_run(jobs, 5, 0, 5LL * 1000000000LL, res), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(res[i].res.exit_code, 0);
		cr_assert_str_eq(res[i].res.output, "4\n", "job %d saw %s", i, res[i].res.output);
	}
	cr_assert(res[4].res.timed_out, "the deadline did not stop the slow job");
	fanout_results_release(res, 5);
	free(line);
	tl_rmrf(dir);
	free(dir);
}

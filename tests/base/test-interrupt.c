/* SPDX-License-Identifier: MIT */
/* interrupt.c: one request to stop, even when it is delivered twice at once; a person's second
 * ^C ends the process. Each case runs in a child, which the signals may end. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "interrupt.h"

static volatile sig_atomic_t flag;

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* The child's exit: 10 + the flag's signal when it lived, or the signal that ended it. */
static int run_child(int second, long gap_ms)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		interrupt_catch(&flag);
		kill(getpid(), SIGINT);
		if (gap_ms)
			sleep_ms(gap_ms);
		if (second)
			kill(getpid(), second);
		_exit(flag == SIGINT ? 10 : 20);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

Test(interrupt, one_signal_asks_to_stop)
{
	cr_assert_eq(run_child(0, 0), 10);
}

/* timeout(1): kill(pid, SIGINT), then kill(0, SIGINT) microseconds later. */
Test(interrupt, the_same_request_twice_at_once_is_one_request)
{
	cr_assert_eq(run_child(SIGINT, 0), 10);
	cr_assert_eq(run_child(SIGTERM, 0), 10);
}

Test(interrupt, a_second_request_later_ends_the_process)
{
	cr_assert_eq(run_child(SIGINT, INTERRUPT_REPEAT_MS + 200), -SIGINT);
	cr_assert_eq(run_child(SIGTERM, INTERRUPT_REPEAT_MS + 200), -SIGTERM);
}

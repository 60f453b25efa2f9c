/* SPDX-License-Identifier: MIT */
#include "interrupt.h"

#include <string.h>
#include <time.h>

static volatile sig_atomic_t *stop_flag;
static volatile sig_atomic_t seen;
static struct timespec first; /* written once, before seen is set */

/* Async-signal-safe: clock_gettime, signal and raise are on the POSIX list. */
static void on_stop(int sig)
{
	struct timespec now;

	if (!seen) {
		clock_gettime(CLOCK_MONOTONIC, &first);
		seen = 1;
		*stop_flag = sig;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms =
	    (now.tv_sec - first.tv_sec) * 1000LL + (now.tv_nsec - first.tv_nsec) / 1000000;
	if (ms < INTERRUPT_REPEAT_MS)
		return;
	signal(sig, SIG_DFL);
	raise(sig);
}

void interrupt_catch(volatile sig_atomic_t *flag)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	stop_flag = flag;
	seen = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

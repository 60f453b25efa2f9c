/* SPDX-License-Identifier: MIT */
/* ^C and SIGTERM as a request to stop, shared by every command that stops cleanly.
 *
 * The first SIGINT or SIGTERM sets *flag to the signal: the work in flight finishes its step and
 * stops. A second one ends the process at once, as a person's second ^C should, unless it comes
 * within INTERRUPT_REPEAT_MS of the first: timeout(1) sends its signal to the process and then
 * to its own process group, and some supervisors do the same, so one request arrives twice
 * within microseconds. Those are one request, not two. */
#ifndef SHIPLOG_INTERRUPT_H
#define SHIPLOG_INTERRUPT_H

#include <signal.h>

#define INTERRUPT_REPEAT_MS 500

void interrupt_catch(volatile sig_atomic_t *flag);

#endif

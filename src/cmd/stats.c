/* SPDX-License-Identifier: MIT */
/* shiplog stats: placeholder until the command lands; it says so and exits 2. */
#include "cmd.h"
#include "out.h"
#include "util.h"

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	log_error("'stats' is not built yet");
	return SL_EUSAGE;
}

const struct cmd_entry cmd_stats = {
	.name = "stats",
	.summary = "(not built yet)",
	.usage = "usage: shiplog stats\n",
	.flags = 0,
	.run = run,
};

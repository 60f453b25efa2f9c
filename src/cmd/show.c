/* SPDX-License-Identifier: MIT */
/* shiplog show: placeholder until the command lands; it says so and exits 2. */
#include "cmd.h"
#include "out.h"
#include "util.h"

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	log_error("'show' is not built yet");
	return SL_EUSAGE;
}

const struct cmd_entry cmd_show = {
	.name = "show",
	.summary = "(not built yet)",
	.usage = "usage: shiplog show\n",
	.flags = 0,
	.run = run,
};

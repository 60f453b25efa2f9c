/* SPDX-License-Identifier: MIT */
/* placeholder: the docker runtime lands with its issue */
#include "out.h"
#include "rollout.h"
#include "util.h"

static int docker_open(struct rollout *ro)
{
	(void)ro;
	log_error("the docker runtime is not built yet; use --runtime native");
	return SL_EUSAGE;
}

static void docker_close(struct rollout *ro)
{
	(void)ro;
}

const struct runtime_ops docker_runtime_ops = {
	.name = "docker",
	.open = docker_open,
	.close = docker_close,
};

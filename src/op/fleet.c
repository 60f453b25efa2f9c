/* SPDX-License-Identifier: MIT */
/* The fleet executor: waves of remote shiplog runs, recorded in the controller's ledger. */
#include "fleet.h"

#include "out.h"

int fleet_execute(const struct fleet_plan *p, const char *ledger_dir)
{
	(void)p;
	(void)ledger_dir;
	log_error("fleet deploy: not implemented yet; use --dry-run");
	return SL_EUSAGE;
}

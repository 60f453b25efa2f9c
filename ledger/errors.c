/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "ledger/ledger.h"

const char *ledger_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case LEDGER_ENOTFOUND:
		return "not found";
	case LEDGER_ECORRUPT:
		return "corrupt data";
	case LEDGER_ETOOBIG:
		return "over the codec's limits";
	case LEDGER_ESCHEMA:
		return "ledger schema is newer than this shiplog";
	case LEDGER_EINVAL:
		return "invalid argument";
	case LEDGER_ESTORE:
		return "storage error";
	case LEDGER_EGAP:
		return "sequence gap";
	case LEDGER_EMISMATCH:
		return "snapshot differs from replay";
	case LEDGER_EFULL:
		return "reducer table full";
	default:
		if (code < 0 && code > -4096)
			return strerror(-code);
		return "unknown error";
	}
}

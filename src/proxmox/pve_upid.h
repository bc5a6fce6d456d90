/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PVE task ids (UPIDs): "UPID:node:PID:PSTART:STARTTIME:type:id:user:" with
 * hex numbers, as PVE::Tools::upid_decode reads them.  A task runs on the
 * node its UPID names, so that is where its status is asked.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "util/error.h"

struct pve_upid {
	char *node; /* the fields point into one buffer, freed by pve_upid_clear() */
	char *type; /* "vzcreate", "vzstart", ... */
	char *id;   /* "100", or "" */
	char *user; /* "root@pam", "root@pam!token" */
	unsigned long pid;
	unsigned long pstart;
	time_t starttime;
};

/* true when s has the shape of a UPID (for telling a task reply from other data). */
bool pve_upid_is(const char *s);

/* Parse s; errors: "not a PVE task id (UPID): '...'" naming the field. */
int pve_upid_parse(const char *s, struct pve_upid *out, struct plx_err *err);
void pve_upid_clear(struct pve_upid *u);

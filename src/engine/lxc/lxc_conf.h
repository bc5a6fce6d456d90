/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI config -> LXC container configuration (the text of
 * <lxcpath>/<name>/config).  What LXC expresses exactly is mapped here; the
 * rest is done by proxmox-lxcri-init (see docs/oci-to-lxc.md for the table).
 */
#pragma once

#include <stdbool.h>

#include "oci/spec.h"
#include "util/error.h"

struct plx_lxc_conf_in {
	const struct oci_spec *spec;
	const char *id;
	const char *bundle;          /* absolute */
	const char *rootfs;          /* absolute */
	const char *cgroup_path;     /* resolved container cgroup, "/a/b" */
	const char *monitor_cgroup;  /* where liblxc's short-lived monitor sits */
	const char *log_file;        /* liblxc's log */
	bool debug;
	bool apparmor_enabled;       /* the host has AppArmor: keep liblxc's own profile off */
};

/* Build the configuration text; errors name the config.json field. */
int plx_lxc_conf_build(const struct plx_lxc_conf_in *in, char **text, struct plx_err *err);

/* Whether the engine applies this OCI mount option (runc's extensions are refused). */
bool plx_lxc_mount_option_supported(const char *opt);

/* The LXC name of an OCI namespace type ("network" -> "net"), NULL if unknown. */
const char *plx_lxc_ns_name(const char *oci_type);

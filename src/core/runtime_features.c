/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime_features.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include "config-build.h"
#include "engine/lxc/lxc_conf.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "version.h"

/*
 * One table per item.  They list what the lifecycle engine implements
 * today; entries are added as features land, so the document never claims
 * more than the runtime does.
 */
static const char *const hooks[] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

/*
 * The option words of mount(8) and runc (sorted as runc prints them);
 * only those the engine applies are listed (plx_lxc_mount_option_supported).
 */
static const char *const mount_options[] = {
	"async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "idmap", "lazytime", "mand",
	"noatime", "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime", "nostrictatime",
	"nosuid", "private", "rbind", "relatime", "remount", "ridmap", "ro", "rprivate", "rro", "rrw",
	"rshared", "rslave", "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
	"tmpcopyup", "unbindable",
};

/* "time": liblxc's lxc.time.offset.* (test_namespace_time_offsets) */
static const char *const namespaces[] = {
	"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
};

static const char *const seccomp_actions[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
};

static const char *const seccomp_operators[] = {
	"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
	"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
};

/* OCI name -> libseccomp name; listed only when this libseccomp resolves it. */
static const struct {
	const char *oci;
	const char *scmp;
} seccomp_archs[] = {
	{ "SCMP_ARCH_AARCH64", "aarch64" },
	{ "SCMP_ARCH_ARM", "arm" },
	{ "SCMP_ARCH_LOONGARCH64", "loongarch64" },
	{ "SCMP_ARCH_M68K", "m68k" },
	{ "SCMP_ARCH_MIPS", "mips" },
	{ "SCMP_ARCH_MIPS64", "mips64" },
	{ "SCMP_ARCH_MIPS64N32", "mips64n32" },
	{ "SCMP_ARCH_MIPSEL", "mipsel" },
	{ "SCMP_ARCH_MIPSEL64", "mipsel64" },
	{ "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" },
	{ "SCMP_ARCH_PARISC", "parisc" },
	{ "SCMP_ARCH_PARISC64", "parisc64" },
	{ "SCMP_ARCH_PPC", "ppc" },
	{ "SCMP_ARCH_PPC64", "ppc64" },
	{ "SCMP_ARCH_PPC64LE", "ppc64le" },
	{ "SCMP_ARCH_RISCV64", "riscv64" },
	{ "SCMP_ARCH_S390", "s390" },
	{ "SCMP_ARCH_S390X", "s390x" },
	{ "SCMP_ARCH_SH", "sh" },
	{ "SCMP_ARCH_SHEB", "sheb" },
	{ "SCMP_ARCH_X32", "x32" },
	{ "SCMP_ARCH_X86", "x86" },
	{ "SCMP_ARCH_X86_64", "x86_64" },
};

/* Filter flags we pass through, with the libseccomp API level each needs. */
static const struct {
	const char *name;
	unsigned int api;
} seccomp_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", 2 },
	{ "SECCOMP_FILTER_FLAG_LOG", 3 },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4 },
};

static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *supported_mount_options(void)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < ARRAY_SIZE(mount_options); i++)
		if (plx_lxc_mount_option_supported(mount_options[i]) &&
		    json_array_append_new(a, json_string(mount_options[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Every capability the running kernel has, as libcap names it ("CAP_CHOWN"). */
static json_t *capabilities(void)
{
	json_t *a = json_array();
	int max = (int)cap_max_bits();

	for (int i = 0; a && i < max; i++) {
		char *name = cap_to_name((cap_value_t)i);

		/* libcap prints caps newer than itself as numbers: skip those */
		if (name && strncmp(name, "cap_", 4) == 0) {
			for (char *p = name; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			json_array_append_new(a, json_string(name));
		}
		cap_free(name);
	}
	return a;
}

static json_t *seccomp_features(void)
{
	unsigned int api = seccomp_api_get();
	json_t *archs = json_array(), *known = json_array(), *supported = json_array();

	for (size_t i = 0; archs && i < ARRAY_SIZE(seccomp_archs); i++)
		if (seccomp_arch_resolve_name(seccomp_archs[i].scmp) != 0)
			json_array_append_new(archs, json_string(seccomp_archs[i].oci));
	for (size_t i = 0; known && supported && i < ARRAY_SIZE(seccomp_flags); i++) {
		json_array_append_new(known, json_string(seccomp_flags[i].name));
		if (api >= seccomp_flags[i].api)
			json_array_append_new(supported, json_string(seccomp_flags[i].name));
	}
	return json_pack("{s:b, s:o, s:o, s:o*, s:o*, s:o*}",
			 "enabled", api >= 1,
			 "actions", string_array(seccomp_actions, ARRAY_SIZE(seccomp_actions)),
			 "operators", string_array(seccomp_operators, ARRAY_SIZE(seccomp_operators)),
			 "archs", archs,
			 "knownFlags", known,
			 "supportedFlags", supported);
}

static json_t *annotations(void)
{
	const struct scmp_version *v = seccomp_version();
	char scmp[64];

	snprintf(scmp, sizeof(scmp), "%u.%u.%u", v->major, v->minor, v->micro);
	return json_pack("{s:s, s:s, s:s, s:s}",
			 "org.proxmox-lxcri.version", PLX_VERSION,
			 "org.proxmox-lxcri.commit", PLX_GIT_COMMIT,
			 "org.proxmox-lxcri.liblxc.version", lxc_get_version(),
			 "org.proxmox-lxcri.libseccomp.version", scmp);
}

json_t *plx_features(void)
{
	bool apparmor = access("/sys/kernel/security/apparmor", F_OK) == 0;

	/* "o" steals each reference, also when json_pack fails */
	return json_pack("{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o, "
			 "s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}, s:o}",
			 "ociVersionMin", "1.0.0",
			 "ociVersionMax", OCI_RUNTIME_SPEC_VERSION,
			 "hooks", string_array(hooks, ARRAY_SIZE(hooks)),
			 "mountOptions", supported_mount_options(),
			 "linux",
			 "namespaces", string_array(namespaces, ARRAY_SIZE(namespaces)),
			 "capabilities", capabilities(),
			 "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0,
			 "seccomp", seccomp_features(),
			 "apparmor", "enabled", apparmor,
			 "selinux", "enabled", 0,
			 "intelRdt", "enabled", 0,
			 "mountExtensions", "idmap", "enabled", 1,
			 "annotations", annotations());
}

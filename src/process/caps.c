/* SPDX-License-Identifier: Apache-2.0 */
#include "caps.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(cap_freep, struct _cap_struct, cap_free)
#define __do_cap_free __attribute__((cleanup(cap_freep)))
/* strings from cap_to_name() belong to libcap's allocator */
DEFINE_CLEANUP_FUNC(cap_free_strp, char, cap_free)
#define __do_cap_free_str __attribute__((cleanup(cap_free_strp)))

int plx_cap_from_name(const char *name, cap_value_t *out)
{
	cap_value_t v;

	/* libcap also takes "12" and "cap_chown"; OCI names are "CAP_*" only */
	if (!name || strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &v) < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

uint64_t plx_caps_mask(char *const *names, const char *set)
{
	cap_value_t last = cap_max_bits();
	uint64_t mask = 0;

	for (; names && *names; names++) {
		cap_value_t v;
		if (plx_cap_from_name(*names, &v) < 0 || v >= last || v >= 64) {
			log_warn("process.capabilities.%s: ignoring unknown or unavailable capability %s",
				 set, *names);
			continue;
		}
		mask |= UINT64_C(1) << v;
	}
	return mask;
}

int plx_caps_drop_bounding(const struct oci_capabilities *c, struct plx_err *err)
{
	uint64_t keep = plx_caps_mask(c->bounding, "bounding");
	cap_value_t last = cap_max_bits();

	for (cap_value_t v = 0; v < last && v < 64; v++) {
		if (keep & (UINT64_C(1) << v))
			continue;
		if (cap_drop_bound(v) < 0) {
			__do_cap_free_str char *name = cap_to_name(v);
			return plx_err_sys(err, errno, "drop %s from the bounding set",
					   name ? name : "capability");
		}
	}
	return 0;
}

static int set_flags(cap_t caps, cap_flag_t flag, uint64_t mask)
{
	for (cap_value_t v = 0; v < 64; v++) {
		if (!(mask & (UINT64_C(1) << v)))
			continue;
		if (cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
			return -errno;
	}
	return 0;
}

int plx_caps_apply(const struct oci_capabilities *c, struct plx_err *err)
{
	uint64_t ambient = plx_caps_mask(c->ambient, "ambient");

	__do_cap_free struct _cap_struct *caps = cap_init();
	if (!caps)
		return plx_err_sys(err, errno, "capabilities");
	if (set_flags(caps, CAP_EFFECTIVE, plx_caps_mask(c->effective, "effective")) < 0 ||
	    set_flags(caps, CAP_PERMITTED, plx_caps_mask(c->permitted, "permitted")) < 0 ||
	    set_flags(caps, CAP_INHERITABLE, plx_caps_mask(c->inheritable, "inheritable")) < 0)
		return plx_err_sys(err, errno, "capabilities");
	if (cap_set_proc(caps) < 0)
		return plx_err_sys(err, errno, "set process capabilities");

	/* EINVAL: kernel without ambient capabilities (< 4.3); nothing to reset then */
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return plx_err_sys(err, errno, "reset ambient capabilities");
	for (cap_value_t v = 0; v < 64; v++) {
		if (!(ambient & (UINT64_C(1) << v)))
			continue;
		if (cap_set_ambient(v, CAP_SET) < 0) {
			int e = errno;
			__do_cap_free_str char *name = cap_to_name(v);
			/*
			 * EPERM: not both permitted and inheritable.  runc's own
			 * template asks for that and runc 1.1 ignores the error:
			 * the capability is just not ambient.
			 */
			if (e == EPERM) {
				log_debug("process.capabilities.ambient: %s skipped: it is not inheritable "
					  "and permitted", name ? name : "?");
				continue;
			}
			return plx_err_sys(err, e, "raise ambient capability %s", name ? name : "?");
		}
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The driver-independent part: name checks, then dispatch to the driver. */
#include "storage/storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

#define NAME_MAX_LEN 200

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '.';
}

int plx_storage_check_id(const char *id, struct plx_err *err)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0)
		return plx_err_set(err, EINVAL, "container ID must not be empty");
	if (len > NAME_MAX_LEN)
		return plx_err_set(err, EINVAL, "container ID \"%.32s...\" is longer than %d bytes", id,
				   NAME_MAX_LEN);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return plx_err_set(err, EINVAL, "invalid container ID \"%s\"", id);
	for (const char *p = id; *p; p++)
		if (!id_char(*p) && *p != '+')
			return plx_err_set(err, EINVAL,
					   "invalid container ID \"%s\": only A-Z a-z 0-9 _ + - . are allowed", id);
	return 0;
}

int plx_storage_check_snapshot_name(const char *snap, struct plx_err *err)
{
	size_t len = snap ? strlen(snap) : 0;

	if (len == 0)
		return plx_err_set(err, EINVAL, "snapshot name must not be empty");
	if (len > NAME_MAX_LEN)
		return plx_err_set(err, EINVAL, "snapshot name \"%.32s...\" is longer than %d bytes", snap,
				   NAME_MAX_LEN);
	if (snap[0] == '.')
		return plx_err_set(err, EINVAL, "invalid snapshot name \"%s\": must not start with '.'", snap);
	for (const char *p = snap; *p; p++)
		if (!id_char(*p))
			return plx_err_set(err, EINVAL,
					   "invalid snapshot name \"%s\": only A-Z a-z 0-9 _ - . are allowed", snap);
	return 0;
}

int plx_storage_open(const struct plx_storage_ops *ops, const char *base, struct plx_storage **out,
		     struct plx_err *err)
{
	__do_free struct plx_storage *s = NULL;
	int ret;

	ret = ops->check_base(base, err);
	if (ret < 0)
		return plx_err_prefix(err, "storage driver %s", ops->name);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->base = strdup(base)))
		return plx_err_set(err, ENOMEM, "storage driver %s: out of memory", ops->name);
	s->ops = ops;
	*out = steal_ptr(s);
	return 0;
}

void plx_storage_free(struct plx_storage *s)
{
	if (!s)
		return;
	free(s->base);
	free(s);
}

void plx_storage_snapshots_free(struct plx_storage_snapshot *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int plx_storage_create(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	return ret < 0 ? ret : s->ops->create(s, id, size_limit, err);
}

int plx_storage_clone_from(struct plx_storage *s, const char *src, const char *snap, const char *id,
			   struct plx_err *err)
{
	int ret = plx_storage_check_id(src, err);

	if (ret == 0)
		ret = plx_storage_check_snapshot_name(snap, err);
	if (ret == 0)
		ret = plx_storage_check_id(id, err);
	return ret < 0 ? ret : s->ops->clone_from(s, src, snap, id, err);
}

int plx_storage_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	if (ret == 0)
		ret = plx_storage_check_snapshot_name(snap, err);
	return ret < 0 ? ret : s->ops->snapshot(s, id, snap, err);
}

int plx_storage_list_snapshots(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
			       size_t *n, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	*out = NULL;
	*n = 0;
	return ret < 0 ? ret : s->ops->list_snapshots(s, id, out, n, err);
}

int plx_storage_rollback(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	if (ret == 0)
		ret = plx_storage_check_snapshot_name(snap, err);
	return ret < 0 ? ret : s->ops->rollback(s, id, snap, err);
}

int plx_storage_destroy_snapshot(struct plx_storage *s, const char *id, const char *snap,
				 struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	if (ret == 0)
		ret = plx_storage_check_snapshot_name(snap, err);
	return ret < 0 ? ret : s->ops->destroy_snapshot(s, id, snap, err);
}

int plx_storage_destroy(struct plx_storage *s, const char *id, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	return ret < 0 ? ret : s->ops->destroy(s, id, err);
}

int plx_storage_path(struct plx_storage *s, const char *id, char **out, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	*out = NULL;
	return ret < 0 ? ret : s->ops->path(s, id, out, err);
}

int plx_storage_exists(struct plx_storage *s, const char *id, bool *out, struct plx_err *err)
{
	int ret = plx_storage_check_id(id, err);

	*out = false;
	return ret < 0 ? ret : s->ops->exists(s, id, out, err);
}

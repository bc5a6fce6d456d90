/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

size_t plx_strv_len(char *const *v)
{
	size_t n = 0;

	if (v)
		while (v[n])
			n++;
	return n;
}

void plx_strv_free(char **v)
{
	plx_strv_freep(&v);
}

char **plx_strv_dup(char *const *v)
{
	size_t n = plx_strv_len(v);
	__do_strv_free char **out = calloc(n + 1, sizeof(*out));

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		if (!out[i])
			return NULL;
	}
	return steal_ptr(out);
}

int plx_strv_append(char ***v, const char *s)
{
	size_t n = plx_strv_len(*v);
	__do_free char *copy = strdup(s);
	char **grown;

	if (!copy)
		return -ENOMEM;
	grown = realloc(*v, (n + 2) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[n] = steal_ptr(copy);
	grown[n + 1] = NULL;
	*v = grown;
	return 0;
}

bool plx_strv_contains(char *const *v, const char *s)
{
	if (v)
		for (; *v; v++)
			if (strcmp(*v, s) == 0)
				return true;
	return false;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* NULL-terminated string vectors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

size_t plx_strv_len(char *const *v);
void plx_strv_free(char **v);
char **plx_strv_dup(char *const *v);
/* Append a copy of s; returns 0 or -ENOMEM. */
int plx_strv_append(char ***v, const char *s);
bool plx_strv_contains(char *const *v, const char *s);

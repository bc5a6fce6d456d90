/* SPDX-License-Identifier: Apache-2.0 */
#include "oci/spec_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

#define WRAP_HEAD  "{\"" OCI_JSON_U64_KEY "\":\""
#define WRAP_TAIL  "\"}"
#define WRAP_EXTRA (sizeof(WRAP_HEAD) - 1 + sizeof(WRAP_TAIL) - 1)

/* An integer literal of the input to wrap: bytes [start, end) on line. */
struct wrap {
	size_t start;
	size_t end;
	int line;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits whose value is above INT64_MAX and fits uint64. */
static bool above_int64(const char *s, size_t n)
{
	if (n == 19)
		return memcmp(s, "9223372036854775807", 19) > 0;
	if (n == 20)
		return memcmp(s, "18446744073709551615", 20) <= 0;
	return false;
}

/* Find the integer literals outside strings that only uint64 can hold. */
static int find_wraps(const char *buf, size_t len, struct wrap **out, size_t *n_out)
{
	__do_free struct wrap *v = NULL;
	size_t n = 0, cap = 0;
	int line = 1;

	for (size_t i = 0; i < len;) {
		char c = buf[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '"') {
			for (i++; i < len && buf[i] != '"'; i++) {
				if (buf[i] == '\\')
					i++;
				else if (buf[i] == '\n')
					line++;
			}
			i++;
		} else if (c == '-' || is_digit(c)) {
			size_t start = i, digits;

			if (c == '-')
				i++;
			digits = i;
			while (i < len && is_digit(buf[i]))
				i++;
			if (i < len && strchr(".eE", buf[i])) {
				while (i < len && (is_digit(buf[i]) || strchr(".eE+-", buf[i])))
					i++;
				continue;
			}
			if (c == '-' || !above_int64(buf + digits, i - digits))
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct wrap *nv = realloc(v, ncap * sizeof(*v));

				if (!nv)
					return -ENOMEM;
				v = nv;
				cap = ncap;
			}
			v[n++] = (struct wrap){ start, i, line };
		} else {
			i++;
		}
	}
	*out = steal_ptr(v);
	*n_out = n;
	return 0;
}

static char *apply_wraps(const char *buf, size_t len, const struct wrap *w, size_t n, size_t *out_len)
{
	char *out = malloc(len + n * WRAP_EXTRA + 1);
	size_t o = 0, prev = 0;

	if (!out)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		memcpy(out + o, buf + prev, w[k].start - prev);
		o += w[k].start - prev;
		memcpy(out + o, WRAP_HEAD, sizeof(WRAP_HEAD) - 1);
		o += sizeof(WRAP_HEAD) - 1;
		memcpy(out + o, buf + w[k].start, w[k].end - w[k].start);
		o += w[k].end - w[k].start;
		memcpy(out + o, WRAP_TAIL, sizeof(WRAP_TAIL) - 1);
		o += sizeof(WRAP_TAIL) - 1;
		prev = w[k].end;
	}
	memcpy(out + o, buf + prev, len - prev);
	o += len - prev;
	out[o] = '\0';
	*out_len = o;
	return out;
}

static int syntax_error(struct plx_err *err, const char *name, const json_error_t *jerr, int column)
{
	return plx_err_set(err, EINVAL, "%s:%d:%d: %s", name, jerr->line, column, jerr->text);
}

int oci_json_load(const char *buf, size_t len, const char *name, json_t **out, struct plx_err *err)
{
	__do_free struct wrap *w = NULL;
	__do_free char *wrapped = NULL;
	size_t n = 0, wlen = 0;
	json_error_t jerr;
	json_t *doc;
	int ret, column;

	doc = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
	if (doc) {
		*out = doc;
		return 0;
	}
	if (json_error_code(&jerr) != json_error_numeric_overflow)
		return syntax_error(err, name, &jerr, jerr.column);

	ret = find_wraps(buf, len, &w, &n);
	if (ret < 0)
		return plx_err_set(err, -ret, "%s: out of memory", name);
	if (n == 0)
		return syntax_error(err, name, &jerr, jerr.column);
	wrapped = apply_wraps(buf, len, w, n, &wlen);
	if (!wrapped)
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);

	doc = json_loadb(wrapped, wlen, JSON_DECODE_ANY, &jerr);
	if (doc) {
		*out = doc;
		return 0;
	}
	/* Report the column of the text as written, not as wrapped. */
	column = jerr.column;
	for (size_t k = 0; k < n; k++)
		if (w[k].line == jerr.line && w[k].start + k * WRAP_EXTRA < (size_t)jerr.position &&
		    column > 0)
			column -= (int)WRAP_EXTRA;
	return syntax_error(err, name, &jerr, column);
}

bool oci_json_big_u64(const json_t *v, uint64_t *out)
{
	const json_t *s;
	const char *digits;
	size_t n;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return false;
	s = json_object_get(v, OCI_JSON_U64_KEY);
	if (!json_is_string(s))
		return false;
	digits = json_string_value(s);
	n = json_string_length(s);
	for (size_t i = 0; i < n; i++)
		if (!is_digit(digits[i]))
			return false;
	if (!above_int64(digits, n))
		return false;
	*out = strtoull(digits, NULL, 10);
	return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* PVE's replies and errors, request encoding and failover decisions: no I/O here. */
#include "proxmox/pve_reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/cleanup.h"
#include "util/json.h"

void pve_response_clear(struct pve_response *r)
{
	free(r->reason);
	free(r->body);
	free(r->error);
	*r = (struct pve_response){};
}

bool pve_status_transient(long status)
{
	return status == 502 || status == 503 || status == 504;
}

bool pve_should_failover(const struct pve_response *r, const char *method)
{
	bool idempotent = strcmp(method, "GET") == 0;

	switch (r->xfer) {
	case PVE_XFER_CONNECT:
		return true;
	case PVE_XFER_LOST:
		return idempotent;
	case PVE_XFER_OK:
		return idempotent && pve_status_transient(r->status);
	}
	return false;
}

/* A copy of s without trailing whitespace (PVE ends messages with "\n"). */
static char *trimmed(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	return strndup(s, n);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "'memory': msg; 'cores': msg" in key order, so the message is stable. */
static int param_errors(const json_t *errors, struct plx_err *err)
{
	__do_free const char **keys = NULL;
	__do_free char *text = NULL;
	size_t n = json_object_size(errors), i = 0, len = 0;
	const char *key;
	json_t *v;
	FILE *f;

	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_object_foreach((json_t *)errors, key, v)
	{
		keys[i++] = key;
	}
	qsort(keys, n, sizeof(*keys), cmp_keys);
	f = open_memstream(&text, &len);
	if (!f)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *m = json_object_get(errors, keys[i]);
		__do_free char *msg = trimmed(json_is_string(m) ? json_string_value(m) : "invalid");

		fprintf(f, "%s'%s': %s", i ? "; " : "", keys[i], msg ? msg : "");
	}
	fclose(f);
	if (n == 1)
		return plx_err_set(err, EINVAL, "PVE rejected parameter %s", text);
	return plx_err_set(err, EINVAL, "PVE rejected parameters: %s", text);
}

/* errno-style code for an HTTP status, so callers can tell "not found" from "refused". */
static int status_code(long status)
{
	switch (status) {
	case 400:
		return EINVAL;
	case 401:
		return EACCES;
	case 403:
		return EPERM;
	case 404:
	case 501:
		return ENOTSUP;
	case 502:
	case 503:
	case 504:
		return EAGAIN;
	default:
		return EIO;
	}
}

int pve_reply_parse(const struct pve_response *r, const char *token_id, json_t **data, struct plx_err *err)
{
	json_auto_t *doc = NULL;
	__do_free char *reason = NULL, *message = NULL;
	json_error_t jerr;
	json_t *v;

	*data = NULL;
	if (r->xfer != PVE_XFER_OK)
		return plx_err_set(err, r->xfer == PVE_XFER_CONNECT ? ECONNREFUSED : ETIMEDOUT, "%s",
				   r->error ? r->error : "no answer");
	doc = r->body && r->len ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
	reason = trimmed(r->reason ? r->reason : "");
	if (!reason)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (r->status == 200) {
		if (!json_is_object(doc) || !(v = json_object_get(doc, "data")))
			return plx_err_set(err, EPROTO, "PVE answered 200 but not with {\"data\": ...}: %s",
					   doc ? "no \"data\" key" : jerr.text);
		*data = json_incref(v);
		return 0;
	}
	v = json_is_object(doc) ? json_object_get(doc, "errors") : NULL;
	if (r->status == 400 && json_is_object(v) && json_object_size(v) > 0)
		return param_errors(v, err);
	if (r->status == 401)
		return plx_err_set(err, EACCES, "PVE refused the API token for %s (401 %s)", token_id,
				   reason);
	v = json_is_object(doc) ? json_object_get(doc, "message") : NULL;
	message = json_is_string(v) ? trimmed(json_string_value(v)) : NULL;
	if (message && *message && strcmp(message, reason) != 0)
		return plx_err_set(err, status_code(r->status), "PVE answered %ld %s: %s", r->status, reason,
				   message);
	return plx_err_set(err, status_code(r->status), "PVE answered %ld %s", r->status,
			   *reason ? reason : "(no reason given)");
}

int pve_attempts_add(struct pve_attempts *a, const char *host, const char *reason)
{
	char *text;

	if (asprintf(&text, "%s%s%s: %s", a->text ? a->text : "", a->text ? "; " : "", host, reason) < 0)
		return -ENOMEM;
	free(a->text);
	a->text = text;
	a->n++;
	return 0;
}

int pve_attempts_error(const struct pve_attempts *a, int code, struct plx_err *err)
{
	return plx_err_set(err, code, "no PVE host could serve the request (%zu tried): %s", a->n,
			   a->text ? a->text : "no hosts configured");
}

void pve_attempts_clear(struct pve_attempts *a)
{
	free(a->text);
	*a = (struct pve_attempts){};
}

/* The text of one value as PVE reads it. */
static int param_value(const char *key, const json_t *v, char **out, size_t *len, struct plx_err *err)
{
	int n;

	if (json_is_string(v)) {
		*len = json_string_length(v);
		*out = malloc(*len + 1);
		if (!*out)
			return plx_err_set(err, ENOMEM, "out of memory");
		memcpy(*out, json_string_value(v), *len + 1);
		return 0;
	}
	if (json_is_integer(v))
		n = asprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		n = asprintf(out, "%d", json_is_true(v) ? 1 : 0);
	else if (json_is_real(v))
		n = asprintf(out, "%.17g", json_real_value(v));
	else
		return plx_err_set(err, EINVAL,
				   "parameter '%s': expected a string, number or boolean, got %s", key,
				   plx_json_type_name(v));
	if (n < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	*len = (size_t)n;
	return 0;
}

int pve_params_encode(const json_t *params, char **out, struct plx_err *err)
{
	__do_free char *text = NULL;
	size_t len = 0;
	const char *key;
	json_t *v;
	bool first = true;
	FILE *f;
	int ret = 0;

	if (params && !json_is_object(params))
		return plx_err_set(err, EINVAL, "parameters: expected an object, got %s",
				   plx_json_type_name(params));
	f = open_memstream(&text, &len);
	if (!f)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_object_foreach((json_t *)params, key, v)
	{
		__do_free char *value = NULL;
		char *ek = NULL, *ev = NULL;
		size_t vlen = 0;

		ret = param_value(key, v, &value, &vlen, err);
		if (ret < 0)
			break;
		/* the handle argument is unused since curl 7.82 */
		ek = curl_easy_escape(NULL, key, 0);
		ev = curl_easy_escape(NULL, value, (int)vlen);
		if (ek && ev)
			fprintf(f, "%s%s=%s", first ? "" : "&", ek, ev);
		else
			ret = plx_err_set(err, ENOMEM, "out of memory");
		curl_free(ek);
		curl_free(ev);
		explicit_bzero(value, vlen);
		if (ret < 0)
			break;
		first = false;
	}
	if (fclose(f) != 0 && ret == 0)
		ret = plx_err_set(err, ENOMEM, "out of memory");
	if (ret < 0) {
		if (text)
			explicit_bzero(text, len);
		return ret;
	}
	*out = steal_ptr(text);
	return 0;
}

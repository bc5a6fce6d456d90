/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* The one piece of global state: where log lines go. */
static struct {
	int fd;
	enum plx_log_format fmt;
	bool debug;
	bool owned;
} log_state = { .fd = STDERR_FILENO, .fmt = PLX_LOG_TEXT, .debug = false, .owned = false };

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int plx_log_init(const char *path, enum plx_log_format fmt, bool debug)
{
	log_state.fmt = fmt;
	log_state.debug = debug;
	if (!path || !*path || strcmp(path, "/dev/stderr") == 0)
		return 0;

	/* runc opens --log with O_APPEND|O_CREAT|O_WRONLY, 0640 */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	plx_log_close();
	log_state.fd = fd;
	log_state.owned = true;
	return 0;
}

void plx_log_set_fd(int fd, enum plx_log_format fmt, bool debug)
{
	plx_log_close();
	log_state.fd = fd;
	log_state.fmt = fmt;
	log_state.debug = debug;
	log_state.owned = fd != STDERR_FILENO;
}

int plx_log_fd(void)
{
	return log_state.fd;
}

enum plx_log_format plx_log_format(void)
{
	return log_state.fmt;
}

bool plx_log_debug_enabled(void)
{
	return log_state.debug;
}

bool plx_log_is_file(void)
{
	return log_state.owned;
}

void plx_log_close(void)
{
	if (log_state.owned && log_state.fd >= 0)
		close(log_state.fd);
	log_state.fd = STDERR_FILENO;
	log_state.owned = false;
}

/* Append s to buf as a JSON string body (without quotes). */
static void json_escape(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
}

static void format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* RFC 3339 with nanoseconds, as logrus/runc write it */
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

void plx_vlog(enum plx_log_level level, const char *fmt, va_list ap)
{
	__do_free char *msg = NULL, *line = NULL;
	char tbuf[64];
	size_t len = 0;

	if (level == PLX_LOG_DEBUG && !log_state.debug)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;

	FILE *out = open_memstream(&line, &len);
	if (!out)
		return;
	format_time(tbuf, sizeof(tbuf));
	if (log_state.fmt == PLX_LOG_JSON) {
		fprintf(out, "{\"level\":\"%s\",\"msg\":\"", level_names[level]);
		json_escape(out, msg);
		fprintf(out, "\",\"time\":\"%s\"}\n", tbuf);
	} else {
		fprintf(out, "time=\"%s\" level=%s msg=\"", tbuf, level_names[level]);
		json_escape(out, msg);
		fputs("\"\n", out);
	}
	fclose(out);

	/* one write() per line so concurrent writers never interleave */
	for (size_t off = 0; off < len;) {
		ssize_t n = write(log_state.fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void plx_log(enum plx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plx_vlog(level, fmt, ap);
	va_end(ap);
}

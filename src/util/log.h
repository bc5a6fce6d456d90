/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's log: the only global mutable state we allow.  runc writes
 * logrus-style lines to --log (default stderr); containerd reads the JSON
 * form ({"level":"error","msg":"...","time":"RFC3339"}) from log.json to
 * report failures, so that format is kept exactly.
 */
#pragma once

#include <stdbool.h>
#include <stdarg.h>

enum plx_log_level { PLX_LOG_ERROR = 0, PLX_LOG_WARN, PLX_LOG_INFO, PLX_LOG_DEBUG };
enum plx_log_format { PLX_LOG_TEXT = 0, PLX_LOG_JSON };

/* path NULL = stderr. Returns -errno (log stays on stderr) on failure. */
int plx_log_init(const char *path, enum plx_log_format fmt, bool debug);
/* Re-point the log at an already open fd (e.g. an inherited one). */
void plx_log_set_fd(int fd, enum plx_log_format fmt, bool debug);
int plx_log_fd(void);
enum plx_log_format plx_log_format(void);
bool plx_log_debug_enabled(void);
/* true when the log is a file other than stderr */
bool plx_log_is_file(void);
void plx_log_close(void);

void plx_log(enum plx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void plx_vlog(enum plx_log_level level, const char *fmt, va_list ap);

#define log_error(...) plx_log(PLX_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) plx_log(PLX_LOG_WARN, __VA_ARGS__)
#define log_info(...) plx_log(PLX_LOG_INFO, __VA_ARGS__)
#define log_debug(...) plx_log(PLX_LOG_DEBUG, __VA_ARGS__)

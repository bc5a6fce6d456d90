/* SPDX-License-Identifier: Apache-2.0 */
#include "signals.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

/*
 * runc's table (docker's signal map): the first entry for a number is the
 * name plx_signal_name() returns, later ones are aliases.
 */
static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "SIGHUP", SIGHUP }, { "SIGINT", SIGINT }, { "SIGQUIT", SIGQUIT }, { "SIGILL", SIGILL },
	{ "SIGTRAP", SIGTRAP }, { "SIGABRT", SIGABRT }, { "SIGBUS", SIGBUS }, { "SIGFPE", SIGFPE },
	{ "SIGKILL", SIGKILL }, { "SIGUSR1", SIGUSR1 }, { "SIGSEGV", SIGSEGV },
	{ "SIGUSR2", SIGUSR2 }, { "SIGPIPE", SIGPIPE }, { "SIGALRM", SIGALRM },
	{ "SIGTERM", SIGTERM }, { "SIGSTKFLT", SIGSTKFLT }, { "SIGCHLD", SIGCHLD },
	{ "SIGCONT", SIGCONT }, { "SIGSTOP", SIGSTOP }, { "SIGTSTP", SIGTSTP },
	{ "SIGTTIN", SIGTTIN }, { "SIGTTOU", SIGTTOU }, { "SIGURG", SIGURG },
	{ "SIGXCPU", SIGXCPU }, { "SIGXFSZ", SIGXFSZ }, { "SIGVTALRM", SIGVTALRM },
	{ "SIGPROF", SIGPROF }, { "SIGWINCH", SIGWINCH }, { "SIGIO", SIGIO }, { "SIGPWR", SIGPWR },
	{ "SIGSYS", SIGSYS }, { "SIGIOT", SIGIOT }, { "SIGPOLL", SIGPOLL }, { "SIGCLD", SIGCHLD },
};

/* Real-time signals are named from both ends, as docker/runc do. */
static const char *const rtmin_names[] = {
	"SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",  "SIGRTMIN+5",
	"SIGRTMIN+6",  "SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",  "SIGRTMIN+10", "SIGRTMIN+11",
	"SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14", "SIGRTMIN+15",
};
static const char *const rtmax_names[] = {
	"SIGRTMAX",    "SIGRTMAX-1",  "SIGRTMAX-2",  "SIGRTMAX-3",  "SIGRTMAX-4",  "SIGRTMAX-5",
	"SIGRTMAX-6",  "SIGRTMAX-7",  "SIGRTMAX-8",  "SIGRTMAX-9",  "SIGRTMAX-10", "SIGRTMAX-11",
	"SIGRTMAX-12", "SIGRTMAX-13", "SIGRTMAX-14",
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (already upper case, no SIG). */
static int parse_rt(const char *s)
{
	bool from_min;
	int base, off = 0;

	if (strncmp(s, "RTMIN", 5) == 0)
		from_min = true;
	else if (strncmp(s, "RTMAX", 5) == 0)
		from_min = false;
	else
		return 0;
	s += 5;
	base = from_min ? SIGRTMIN : SIGRTMAX;
	if (*s) {
		if (*s != (from_min ? '+' : '-') || !all_digits(s + 1) || strlen(s + 1) > 3)
			return 0;
		off = atoi(s + 1);
	}
	if (off > SIGRTMAX - SIGRTMIN)
		return 0;
	return from_min ? base + off : base - off;
}

int plx_signal_parse(const char *s, struct plx_err *err)
{
	__do_free char *upper = NULL;
	const char *name;

	if (all_digits(s)) {
		/* at most three digits: keeps atoi far from overflow */
		int sig = strlen(s) <= 3 ? atoi(s) : 0;

		if (sig >= 1 && sig <= SIGRTMAX)
			return sig;
		return plx_err_set(err, EINVAL, "unknown signal \"%s\"", s);
	}

	/* runc upper-cases the name and makes the SIG prefix optional */
	upper = strdup(s);
	if (!upper)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (char *p = upper; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	name = strncmp(upper, "SIG", 3) == 0 ? upper + 3 : upper;

	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (strcmp(name, signal_names[i].name + 3) == 0)
			return signal_names[i].sig;

	int sig = parse_rt(name);
	if (sig > 0)
		return sig;
	return plx_err_set(err, EINVAL, "unknown signal \"%s\"", s);
}

const char *plx_signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].sig == sig)
			return signal_names[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if ((size_t)(sig - SIGRTMIN) < ARRAY_SIZE(rtmin_names))
			return rtmin_names[sig - SIGRTMIN];
		if ((size_t)(SIGRTMAX - sig) < ARRAY_SIZE(rtmax_names))
			return rtmax_names[SIGRTMAX - sig];
	}
	return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri-init: the container's first process.  LXC executes it
 * inside the finished container; it serves the runtime's messages on the
 * inherited listening socket (see protocol.h) until "start" turns it into
 * the container's program.
 *
 * argv: --listen-fd N [--log-fd M] [--debug]
 * Nothing is ever written to fds 0..2: they belong to the container.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init/init.h"
#include "init/protocol.h"
#include "process/json_cleanup.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/msg.h"

struct init_args {
	int exec_fd;
	int listen_fd;
	int log_fd;
	bool debug;
};

/*
 * As PID 1 of its pid namespace the init only receives the signals it
 * handles; a created container must still die on kill (default SIGTERM).
 */
static void on_terminate(int sig)
{
	_exit(128 + sig);
}

static void setup_signals(void)
{
	static const int terminating[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_terminate };
	struct sigaction ign = { .sa_handler = SIG_IGN };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(terminating); i++)
		sigaction(terminating[i], &sa, NULL);
	/* a vanished log reader must not kill us; the process gets SIGPIPE back (finalize) */
	sigaction(SIGPIPE, &ign, NULL);
}

static int parse_fd(const char *s)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 1 << 20)
		return -1;
	return (int)v;
}

static int parse_args(int argc, char **argv, struct init_args *a)
{
	static const struct option opts[] = {
		{ "listen-fd", required_argument, NULL, 'l' },
		{ "log-fd", required_argument, NULL, 'g' },
		{ "debug", no_argument, NULL, 'd' },
		{ "exec-fd", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct init_args){ .exec_fd = -1, .listen_fd = -1, .log_fd = -1 };
	opterr = 0; /* stderr is the container's */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a->listen_fd = parse_fd(optarg);
			break;
		case 'g':
			a->log_fd = parse_fd(optarg);
			break;
		case 'd':
			a->debug = true;
			break;
		case 'e':
			a->exec_fd = parse_fd(optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	return (a->listen_fd >= 0 || a->exec_fd >= 0) && optind == argc ? 0 : -EINVAL;
}

static void reply(int conn, const char *type, const char *message)
{
	struct plx_err err = PLX_ERR_INIT;

	__do_json_decref json_t *m = message ? json_pack("{s:s, s:s}", "type", type, "message", message)
					     : json_pack("{s:s}", "type", type);
	if (!m || plx_msg_send(conn, m, -1, &err) < 0)
		log_error("reply %s: %s", type, m ? plx_err_msg(&err) : "out of memory");
	plx_err_clear(&err);
}

/* Serve one connection.  Returns normally unless the init must exit. */
static void serve(struct plx_init *ini, int conn)
{
	__do_json_decref json_t *msg = NULL;
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	int fd = -1;

	if (plx_msg_recv(conn, &msg, &fd, &err) < 0) {
		/* a peer that connects and goes away (a liveness probe) is no reason to stop */
		log_debug("receive: %s", plx_err_msg(&err));
		return;
	}
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type) {
		plx_closep(&fd);
		reply(conn, "error", "message without \"type\"");
		return;
	}
	log_debug("message \"%s\"", type);

	if (strcmp(type, "create") == 0) {
		if (ini->created) {
			/* a stray second create must not take the created container down */
			plx_closep(&fd);
			reply(conn, "error", "create: the container was already created");
			return;
		}
		if (plx_init_create(ini, msg, fd, &err) < 0) {
			log_error("create: %s", plx_err_msg(&err));
			reply(conn, "error", plx_err_msg(&err));
			exit(1);
		}
		reply(conn, "ready", NULL);
	} else if (strcmp(type, "start") == 0) {
		if (!ini->created) {
			plx_closep(&fd);
			reply(conn, "error", "start: the container was not created");
			return;
		}
		plx_init_start(ini, msg, fd, conn, &err);
		log_error("start: %s", plx_err_msg(&err));
		reply(conn, "error", plx_err_msg(&err));
		_exit(127);
	} else {
		__do_free char *m = NULL;
		plx_closep(&fd);
		if (asprintf(&m, "unknown message type \"%s\"", type) < 0)
			m = NULL;
		reply(conn, "error", m ? m : "unknown message type");
	}
}

int main(int argc, char **argv)
{
	struct init_args a;
	struct plx_init ini = { .pty = PLX_PTY_INIT };

	if (parse_args(argc, argv, &a) < 0)
		return 2; /* nowhere to say more: stdio is the container's */
	if (a.exec_fd >= 0) {
		plx_log_set_fd(-1, PLX_LOG_JSON, false); /* never the container's stderr */
		if (fcntl(a.exec_fd, F_SETFD, FD_CLOEXEC) < 0)
			return 2;
		return plx_init_exec_main(a.exec_fd);
	}
	setup_signals();
	/* none of our descriptors may reach the container's program */
	if (fcntl(a.listen_fd, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	if (a.log_fd >= 0 && fcntl(a.log_fd, F_SETFD, FD_CLOEXEC) == 0)
		plx_log_set_fd(a.log_fd, PLX_LOG_JSON, a.debug);
	else
		plx_log_set_fd(-1, PLX_LOG_JSON, false); /* never the container's stderr */
	log_debug("init started, pid %d", (int)getpid());

	for (;;) {
		int conn = accept4(a.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_error("accept on fd %d: %s", a.listen_fd, strerror(errno));
			return 1;
		}
		serve(&ini, conn);
		close(conn);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "livefix/error.h"
#include "livefix/log.h"

static const char *log_prog = "livefix";
static enum lf_log_level log_max = LF_LOG_NOTICE;
static bool log_syslog;

void lf_log_init(const char *prog)
{
	const char *env = getenv("LIVEFIX_DEBUG");

	log_prog = prog;
	if (env && *env && strcmp(env, "0") != 0)
		log_max = LF_LOG_DEBUG;
}

void lf_log_set_level(enum lf_log_level max)
{
	log_max = max;
}

enum lf_log_level lf_log_get_level(void)
{
	return log_max;
}

void lf_log_use_syslog(void)
{
	openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = true;
}

const char *lf_log_prog(void)
{
	return log_prog;
}

void lf_logv(enum lf_log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (level > log_max)
		return;
	if (log_syslog) {
		vsyslog((int)level, fmt, ap);
	} else {
		flockfile(stderr);
		fprintf(stderr, "%s: ", log_prog);
		if (level == LF_LOG_WARNING)
			fputs("warning: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	errno = saved;
}

void lf_log(enum lf_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lf_logv(level, fmt, ap);
	va_end(ap);
}

int lf_log_errno(int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lf_log(LF_LOG_ERR, "%s: %s", msg, lf_strerror(err));
	return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_LOG_H
#define LIVEFIX_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/*
 * Programs log; libraries do not (above debug). Messages go to stderr as
 * "prog: message" in the foreground, or to syslog/the journal when
 * lf_log_use_syslog() was called (the daemon as a service).
 */
enum lf_log_level {
	LF_LOG_ERR = 3,
	LF_LOG_WARNING = 4,
	LF_LOG_NOTICE = 5,
	LF_LOG_INFO = 6,
	LF_LOG_DEBUG = 7,
};

void lf_log_init(const char *prog);
void lf_log_set_level(enum lf_log_level max);
enum lf_log_level lf_log_get_level(void);
void lf_log_use_syslog(void);
const char *lf_log_prog(void);

__attribute__((format(printf, 2, 3)))
void lf_log(enum lf_log_level level, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
void lf_logv(enum lf_log_level level, const char *fmt, va_list ap);

/* Logs "fmt: <text of err>" at error level and returns err (negative). */
__attribute__((format(printf, 2, 3)))
int lf_log_errno(int err, const char *fmt, ...);

#define lf_err(...) lf_log(LF_LOG_ERR, __VA_ARGS__)
#define lf_warn(...) lf_log(LF_LOG_WARNING, __VA_ARGS__)
#define lf_notice(...) lf_log(LF_LOG_NOTICE, __VA_ARGS__)
#define lf_info(...) lf_log(LF_LOG_INFO, __VA_ARGS__)
#define lf_debug(...) lf_log(LF_LOG_DEBUG, __VA_ARGS__)

#endif

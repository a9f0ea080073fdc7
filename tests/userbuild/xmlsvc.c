// SPDX-License-Identifier: Apache-2.0
/*
 * A long-running service on libexpat for the real-world case (cve-expat.sh).
 * Every 10 ms it looks for requests SPOOL/<name>.req and handles each in a
 * forked worker (so a crash is one failed request, not a dead service, and
 * the worker runs whatever code the service's memory holds, live patches
 * included). It logs one line per request to LOG:
 *
 *   <name>: exit 0: <what the worker said>
 *   <name>: killed by signal 11
 *
 * A request is an XML document. A first line "pause-first" asks the
 * service to suspend the parser before feeding it and to resume it after:
 * the call sequence of expat's regression test for CVE-2024-50602
 * (XML_StopParser on a parser that has not started, then XML_ResumeParser).
 * Vulnerable expat lets the stop succeed and the resume crashes.
 */
#include <dirent.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int elements;

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	elements++;
}

static int handle(const char *text, size_t len)
{
	XML_Parser p = XML_ParserCreate(NULL);
	int pause_first = !strncmp(text, "pause-first\n", 12);

	if (!p)
		return 2;
	XML_SetStartElementHandler(p, on_start);
	if (pause_first) {
		text += 12;
		len -= 12;
		XML_GetBuffer(p, 1);
		if (XML_StopParser(p, XML_TRUE) != XML_STATUS_OK) {
			printf("pause refused: %s\n", XML_ErrorString(XML_GetErrorCode(p)));
			XML_ParserFree(p);
			return 0;
		}
		XML_ResumeParser(p);
	}
	if (XML_Parse(p, text, (int)len, XML_TRUE) != XML_STATUS_OK)
		printf("parse error: %s\n", XML_ErrorString(XML_GetErrorCode(p)));
	else
		printf("parsed: %d elements\n", elements);
	XML_ParserFree(p);
	return 0;
}

static void serve(const char *spool, const char *name, FILE *log)
{
	char path[4096], text[65536], said[512] = "";
	int fds[2], status;
	size_t len;
	FILE *f;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", spool, name);
	f = fopen(path, "r");
	if (!f)
		return;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(path);
	text[len] = '\0';
	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		setvbuf(stdout, NULL, _IONBF, 0);
		_exit(handle(text, len));
	}
	close(fds[1]);
	len = 0;
	for (ssize_t n; (n = read(fds[0], said + len, sizeof(said) - 1 - len)) > 0;)
		len += (size_t)n;
	said[len] = '\0';
	said[strcspn(said, "\n")] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		fprintf(log, "%s: killed by signal %d\n", name, WTERMSIG(status));
	else
		fprintf(log, "%s: exit %d: %s\n", name, WEXITSTATUS(status), said);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10000000 };
	FILE *log;

	if (argc != 3)
		return 2;
	log = fopen(argv[2], "w");
	if (!log)
		return 1;
	setvbuf(log, NULL, _IOLBF, 0);
	fprintf(log, "ready: %s\n", XML_ExpatVersion());
	for (;;) {
		DIR *d = opendir(argv[1]);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			size_t n = strlen(de->d_name);

			if (n > 4 && !strcmp(de->d_name + n - 4, ".req"))
				serve(argv[1], de->d_name, log);
		}
		if (d)
			closedir(d);
		nanosleep(&ts, NULL);
	}
}

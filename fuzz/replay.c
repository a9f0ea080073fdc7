/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs a libFuzzer harness without libFuzzer: feeds every file named on the
 * command line (directories are walked one level) to LLVMFuzzerTestOneInput.
 * make check uses it to replay each harness's corpus under ASan and UBSan.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "livefix/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (16u << 20)

static int replay_file(const char *path)
{
	char *data;
	size_t len;
	int r = lf_read_file(path, REPLAY_MAX_INPUT, &data, &len);

	if (r < 0) {
		fprintf(stderr, "replay: %s: cannot read (%d)\n", path, r);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	d = opendir(path);
	if (!d)
		return -1;
	while (r == 0 && (de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
			r = -1;
			break;
		}
		(*count)++;
		r = replay_file(p);
		free(p);
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			return 1;
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replayed %d inputs\n", count);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The fix adds a global variable. */
int try_connect(int fd);
int retries = 3;

int connect_once(int fd)
{
	int r = -1;

	for (int i = 0; i < retries && r < 0; i++)
		r = try_connect(fd);
	return r;
}

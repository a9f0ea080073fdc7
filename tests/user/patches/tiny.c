/* SPDX-License-Identifier: Apache-2.0 */
/* tiny() is 3 bytes long: too short for a 5-byte jump. */
int tiny_v2(void)
{
	return 1;
}

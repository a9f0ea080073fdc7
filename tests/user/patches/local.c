/* SPDX-License-Identifier: Apache-2.0 */
/* Binds to a static variable of the target (offset_value, from .symtab). */
extern volatile int zero;
extern int offset_value;

int offset_v2(int x)
{
	return x + offset_value * 10 + zero;	/* 37 */
}

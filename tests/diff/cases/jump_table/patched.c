/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch() compiles to a jump table (in .rodata.dispatch, or .rodata on
 * some targets) that only it refers to; one case changes. classify() has
 * its own table and does not change.
 */
int op_add(int), op_sub(int), op_mul(int), op_div(int), op_mod(int), op_neg(int);

int dispatch(int op, int v)
{
	int r;

	switch (op) {
	case 0: r = op_add(v + 0); break;
	case 1: r = op_sub(v + 1); break;
	case 2: r = op_mul(v + 2); break;
	case 3: r = op_div(v + 42); break;
	case 4: r = op_mod(v + 4); break;
	case 5: r = op_neg(v + 5); break;
	case 6: r = op_add(v + 6); break;
	case 7: r = op_sub(v + 7); break;
	case 8: r = op_mul(v + 8); break;
	case 9: r = op_div(v + 9); break;
	case 10: r = op_mod(v + 10); break;
	case 11: r = op_neg(v + 11); break;
	default: r = -1; break;
	}
	return r * 3;
}

int classify(int op, int v)
{
	int r;

	switch (op) {
	case 10: r = op_add(v + 0); break;
	case 11: r = op_sub(v + 1); break;
	case 12: r = op_mul(v + 2); break;
	case 13: r = op_div(v + 3); break;
	case 14: r = op_mod(v + 4); break;
	case 15: r = op_neg(v + 5); break;
	case 16: r = op_add(v + 6); break;
	case 17: r = op_sub(v + 7); break;
	case 18: r = op_mul(v + 8); break;
	case 19: r = op_div(v + 9); break;
	case 20: r = op_mod(v + 10); break;
	case 21: r = op_neg(v + 11); break;
	default: r = -1; break;
	}
	return r * 3;
}

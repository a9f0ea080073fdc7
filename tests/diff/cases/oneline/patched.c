/* SPDX-License-Identifier: Apache-2.0 */
/* A one-line fix in one function: only that function changes. */
__attribute__((noinline)) int add_tax(int price)
{
	return price + price / 5;
}

int total(int a, int b)
{
	return add_tax(a) + add_tax(b);
}

int untouched(int x)
{
	return x * 3 + 1;
}

// SPDX-License-Identifier: Apache-2.0
/* Half of a tiny "vmlinux" for test_kimage: symbols as a kernel has them. */
void _text(void);
void _text(void)
{
}

void startup_64(void);
void startup_64(void)
{
	for (;;)
		;
}

static __attribute__((noinline, used)) int show(int x)
{
	return x + 1;
}

int (*show_a)(int) = show;

/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UBT_CALC_H
#define UBT_CALC_H

struct conf {
	int a;
	int b;
};

extern struct conf config;
extern volatile int zero;

/* Inlined into apply_scale(): a change here changes its callers. */
static inline int scale(int x)
{
	return x + 1;
}

int compute(int x);
const char *message(void);
int counter_step(void);
int apply_scale(int x);
int conf_sum(void);
int libval(int x);

#endif

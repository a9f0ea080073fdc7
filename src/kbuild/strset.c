// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strset.h"

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ull;

	while (*k)
		h = (h ^ (unsigned char)*k++) * 1099511628211ull;
	return h;
}

static char **slot(char **slots, size_t cap, const char *key)
{
	size_t i = (size_t)hash(key) & (cap - 1);

	while (slots[i] && strcmp(slots[i], key))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256, i;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slots[i])
			*slot(slots, cap, s->slots[i]) = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int strset_add(struct strset *s, const char *key)
{
	char **p;
	int r;

	if ((s->n + 1) * 2 > s->cap) {
		r = grow(s);
		if (r < 0)
			return r;
	}
	p = slot(s->slots, s->cap, key);
	if (*p)
		return 0;
	*p = strdup(key);
	if (!*p)
		return -ENOMEM;
	s->n++;
	return 1;
}

bool strset_has(const struct strset *s, const char *key)
{
	return s->cap && *slot(s->slots, s->cap, key) != NULL;
}

void strset_release(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	*s = (struct strset){ 0 };
}

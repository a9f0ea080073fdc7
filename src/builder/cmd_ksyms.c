// SPDX-License-Identifier: Apache-2.0
/*
 * livefix-build ksyms: the symbols livefix reads from a kernel image, printed
 * like /proc/kallsyms ("address type name", table order) so they can be
 * compared with a running kernel booted without KASLR. --find prints one
 * name with its livepatch position ("sympos") among duplicates.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/kbuild.h"
#include "livefix/log.h"

#include "builder.h"

static const char usage_text[] =
	"usage: livefix-build ksyms --image VMLINUZ|VMLINUX [--system-map FILE] [--find NAME]\n"
	"Prints the image's symbols as /proc/kallsyms does; with --find, one name's\n"
	"addresses and positions among duplicates (livepatch sympos).\n";

static int load(const char *image, const char *map, struct lf_kimage **img,
		struct lf_ksyms **syms)
{
	const uint8_t *elf;
	size_t len;
	char bid[130];
	int r;

	r = lf_kimage_open(image, img);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot read kernel image", image);
	if (map)
		r = lf_ksyms_read_system_map(map, syms);
	else {
		elf = lf_kimage_elf(*img, &len);
		r = lf_ksyms_read_elf(elf, len, syms);
		if (r < 0)
			r = lf_kallsyms_decode(elf, len, syms);
	}
	if (r < 0)
		return lf_log_errno(r, "%s: no usable symbol table", map ? map : image);
	if (lf_kimage_build_id(*img, bid, sizeof(bid)) < 0)
		snprintf(bid, sizeof(bid), "none");
	fprintf(stderr, "%s: %s, build-id %s, %zu symbols from %s\n", image,
		lf_kimage_compression(*img), bid, (*syms)->n, (*syms)->source);
	return 0;
}

static int print(const struct lf_ksyms *syms, const char *find)
{
	size_t i, first, n;

	if (!find) {
		for (i = 0; i < syms->n; i++)
			printf("%016" PRIx64 " %c %s\n", syms->syms[i].addr, syms->syms[i].type,
			       syms->syms[i].name);
		return 0;
	}
	n = lf_ksyms_lookup(syms, find, &first);
	if (!n) {
		lf_err("%s: not in the symbol table", find);
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		const struct lf_ksym *s = &syms->syms[syms->by_name[first + i]];

		printf("%016" PRIx64 " %c %s sympos=%u/%u\n", s->addr, s->type, s->name, s->pos,
		       s->count);
	}
	return 0;
}

int cmd_ksyms(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "system-map", required_argument, NULL, 'm' },
		{ "find", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *map = NULL, *find = NULL;
	struct lf_kimage *img = NULL;
	struct lf_ksyms *syms = NULL;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'm': map = optarg; break;
		case 'f': find = optarg; break;
		case 'h': fputs(usage_text, stdout); return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-build ksyms", "invalid option");
		}
	}
	if (!image || optind < argc)
		return lf_cmd_usage_error("livefix-build ksyms", "--image is required");
	r = load(image, map, &img, &syms);
	if (r >= 0)
		r = print(syms, find);
	lf_ksyms_free(syms);
	lf_kimage_free(img);
	return lf_exit_code(r);
}

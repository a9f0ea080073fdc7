/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped-module reader (section layout and symbols of a .ko) on arbitrary bytes. */
#include <stdint.h>

#include "livefix/kbuild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_kmodule_sec secs[64];
	struct lf_ksyms *syms;
	size_t n;

	(void)lf_kmodule_layout(data, size, secs, 64, &n);
	if (lf_ksyms_read_module(data, size, &syms) == 0) {
		for (size_t i = 0; i < syms->n; i++)
			(void)lf_ksyms_lookup(syms, syms->syms[i].name, NULL);
		lf_ksyms_free(syms);
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The fix: get_one() adds 2 (see orig.c). */
#define CHANGE 2
#include "orig.c"

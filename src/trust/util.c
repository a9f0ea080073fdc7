/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers of the trust library: hex, hashes, times, role names. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "livefix/trust.h"

int lf_why_set(struct lf_why *w, const char *fmt, ...)
{
	va_list ap;

	if (!w)
		return 0;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static const char *const role_names[LF_ROLE_COUNT] = {
	[LF_ROLE_ROOT] = "root",
	[LF_ROLE_TARGETS] = "targets",
	[LF_ROLE_SNAPSHOT] = "snapshot",
	[LF_ROLE_TIMESTAMP] = "timestamp",
};

const char *lf_role_name(enum lf_role role)
{
	return (unsigned)role < LF_ROLE_COUNT ? role_names[role] : "?";
}

int lf_role_from_name(const char *name)
{
	for (int i = 0; i < LF_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -EINVAL;
}


void lf_sha256_hex(const void *data, size_t len, char out[LF_SHA256_HEX + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	lf_hex(h, sizeof(h), out);
}

int lf_time_parse(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	char tail, back[21];
	time_t t;

	if (strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 7 || tail != 'Z')
		return -EBADMSG;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EBADMSG;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EBADMSG;
	/* One spelling per instant: "+026-..." or "2026-02-30..." are refused. */
	lf_time_format((int64_t)t, back);
	if (strcmp(back, s) != 0)
		return -EBADMSG;
	*ret = (int64_t)t;
	return 0;
}

void lf_time_format(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year < 70) {
		strcpy(out, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t lf_time_now(void)
{
	return (int64_t)time(NULL);
}

/*
 * SHA-1 (FIPS 180-4), written here because libsodium has none. It only
 * names a kernel by its /proc/version text, never protects anything.
 */
static uint32_t rol32(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		t = rol32(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol32(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void lf_sha1_hex(const void *data, size_t len, char out[41])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 }, digest[20];
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t off = 0; off < full; off += 64)
		sha1_block(h, p + off);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t off = 0; off < tlen; off += 64)
		sha1_block(h, tail + off);
	for (int i = 0; i < 20; i++)
		digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
	lf_hex(digest, sizeof(digest), out);
}

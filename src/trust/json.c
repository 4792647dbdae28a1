#include "trust/json.h"

/*
 * Length of the valid UTF-8 sequence at s, or 0 when it is invalid: overlong
 * forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF are
 * invalid as RFC 3629 requires.
 */
static size_t utf8_sequence_length(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int min_second = 0x80, max_second = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;

	if (c == 0xe0)
		min_second = 0xa0; /* overlong three-byte form */
	else if (c == 0xed)
		max_second = 0x9f; /* surrogates */
	else if (c == 0xf0)
		min_second = 0x90; /* overlong four-byte form */
	else if (c == 0xf4)
		max_second = 0x8f; /* above U+10FFFF */

	if (s[1] < min_second || s[1] > max_second)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

static void write_escaped_byte(FILE *out, unsigned char c)
{
	switch (c) {
	case '"':
		fputs("\\\"", out);
		break;
	case '\\':
		fputs("\\\\", out);
		break;
	case '\n':
		fputs("\\n", out);
		break;
	case '\r':
		fputs("\\r", out);
		break;
	case '\t':
		fputs("\\t", out);
		break;
	default:
		if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
}

void json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p) {
		size_t len;

		if (*p < 0x80) {
			write_escaped_byte(out, *p++);
			continue;
		}
		/* A NUL inside a sequence fails the continuation-byte test, so
		 * utf8_sequence_length() never reads past the terminator. */
		len = utf8_sequence_length(p);
		if (len == 0) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		fwrite(p, 1, len, out);
		p += len;
	}
	fputc('"', out);
}

void json_write_hex(FILE *out, const uint8_t *bytes, size_t len)
{
	if (!bytes || len == 0) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (size_t i = 0; i < len; i++)
		fprintf(out, "%02x", bytes[i]);
	fputc('"', out);
}

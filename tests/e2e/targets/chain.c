/*
 * Test target for calls between replaced functions.  outer() calls inner(),
 * and pick() returns a pointer to inner().  Requests on stdin: "outer N"
 * prints outer(N), "take" stores pick()'s pointer, "call N" calls it.
 */
#include <stdio.h>

static volatile int inner_calls;

/* The counter makes the body longer than the 5-byte jump suture writes. */
__attribute__((noipa)) int inner(int x)
{
	inner_calls++;
	return x + 1;
}

__attribute__((noipa)) int outer(int x)
{
	return inner(x) * 10;
}

__attribute__((noipa)) int (*pick(void))(int)
{
	return inner;
}

int main(void)
{
	int (*handler)(int) = NULL;
	char line[128];
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "outer %d", &n) == 1) {
			printf("outer %d = %d\n", n, outer(n));
		} else if (line[0] == 't') {
			handler = pick();
			printf("taken\n");
		} else if (sscanf(line, "call %d", &n) == 1 && handler) {
			printf("call %d = %d\n", n, handler(n));
		} else {
			printf("unknown request\n");
		}
	}
	return 0;
}

/* Test target: replies to "call N" with hidden_api(N) from libhidden.so. */
#include <stdio.h>

int hidden_api(int x);

int main(void)
{
	char line[64];
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin))
		if (sscanf(line, "call %d", &n) == 1)
			printf("call %d = %d\n", n, hidden_api(n));
	return 0;
}

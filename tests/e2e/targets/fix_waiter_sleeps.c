/* Replacement for stale.c's waiter(): it never returns, so a thread calling it stays in the new code. */
#include <unistd.h>

int waiter(void)
{
	for (;;)
		pause();
	return -3;
}

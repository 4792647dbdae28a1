/* Replacements for stale.c. */
int compute(int x)
{
	return x * 100;
}

int waiter(void)
{
	return -2;
}

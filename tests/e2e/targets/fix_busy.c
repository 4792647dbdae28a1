/* Replacements for busy.c: both functions return a different value. */
int busy_loop(int rounds)
{
	return 2000 + rounds;
}

int short_callee(int x)
{
	return x * 5 + 1;
}

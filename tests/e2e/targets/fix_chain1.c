/* First patch for chain.c: inner adds 2, outer multiplies by 100, pick is new code too. */
int inner(int x)
{
	return x + 2;
}

int outer(int x)
{
	return inner(x) * 100;
}

int (*pick(void))(int)
{
	return inner;
}

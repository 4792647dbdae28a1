/* Replacement for blocked.c: compute multiplies. */
int compute(int x)
{
	return x * 100;
}

/* Second patch for chain.c, on top of the first: inner adds 3. */
int inner(int x)
{
	return x + 3;
}

/* Second patch for basic.c, stacked on fix_basic.c: other results again. */
int compute(int x)
{
	return x * 1000;
}

const char *greeting(void)
{
	return "hello from patch 2";
}

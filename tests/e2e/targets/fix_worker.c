/* Replacements for worker.c: compute multiplies, greeting changes text. */
int compute(int x)
{
	return x * 100;
}

const char *greeting(void)
{
	return "patched hello";
}

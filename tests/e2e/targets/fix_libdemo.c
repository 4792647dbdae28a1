/* Replacement for libdemo.c: calls back into the library it patches. */
int demo_scale(void);

int demo_compute(int x)
{
	return x * demo_scale() + 1000;
}

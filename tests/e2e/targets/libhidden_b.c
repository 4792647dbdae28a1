/* Part of libhidden.so: a function other files use but the library does not export. */
__attribute__((visibility("hidden"), noipa)) int hidden_scale(int x)
{
	return x * 10;
}

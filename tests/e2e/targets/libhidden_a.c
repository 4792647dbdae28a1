/* Part of libhidden.so: an exported function calling a hidden one. */
__attribute__((visibility("hidden"))) int hidden_scale(int x);

__attribute__((noipa)) int hidden_api(int x)
{
	if (x < 0)
		return -1;
	return hidden_scale(x) + 1;
}

/* Replacement for hidden_api that still calls the library's hidden helper. */
__attribute__((visibility("hidden"))) int hidden_scale(int x);

int hidden_api(int x)
{
	return hidden_scale(x) + 2;
}

/* Replacement object naming a function that basic.c does not define. */
int not_in_basic(int x)
{
	return x - 1;
}

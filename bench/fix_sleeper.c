/* Replacement for sleeper.c's work(). */
int work(int x)
{
	return x * 100;
}

/* Replacement for entryloop.c: each round counts twice. */
void tick(void);

void count_forever(unsigned long *rounds)
{
	for (;;) {
		tick();
		tick();
		(*rounds)++;
	}
}

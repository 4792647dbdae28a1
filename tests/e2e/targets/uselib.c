/*
 * Test target: loads the shared library named by argv[1] with dlopen, reads
 * requests "demo N" on stdin and prints the result of its demo_compute(N).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char line[256];

	if (argc != 2) {
		fprintf(stderr, "usage: uselib LIBRARY.so\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "uselib: %s\n", dlerror());
		return 1;
	}
	int (*demo_compute)(int) = (int (*)(int))dlsym(lib, "demo_compute");
	if (!demo_compute) {
		fprintf(stderr, "uselib: %s\n", dlerror());
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %s\n", argv[1]);
	while (fgets(line, sizeof(line), stdin)) {
		int n;
		if (sscanf(line, "demo %d", &n) == 1)
			printf("demo %d = %d\n", n, demo_compute(n));
		else if (!strncmp(line, "exit", 4))
			break;
		else
			printf("unknown request\n");
	}
	return 0;
}

/*
 * Test target for signal delivery during patching: counts SIGRTMIN+1
 * (a real-time signal, so every one sent is queued and delivered, none
 * merged) and reports its signal mask, on requests read from stdin:
 * "count", "mask", "compute N".
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;

static void on_signal(int sig)
{
	(void)sig;
	received++;
}

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

int main(void)
{
	struct sigaction sa;
	sigset_t blocked;
	char line[64];
	int n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	/* A mask that patching must leave exactly as it is. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, SIGWINCH);
	sigprocmask(SIG_BLOCK, &blocked, NULL);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "count", 5)) {
			printf("count %d\n", (int)received);
		} else if (!strncmp(line, "mask", 4)) {
			sigset_t now;
			sigprocmask(SIG_BLOCK, NULL, &now);
			printf("mask usr2 %d winch %d rt %d\n", sigismember(&now, SIGUSR2),
			       sigismember(&now, SIGWINCH), sigismember(&now, SIGRTMIN + 1));
		} else if (sscanf(line, "compute %d", &n) == 1) {
			printf("compute %d = %d\n", n, compute(n));
		}
	}
	return 0;
}

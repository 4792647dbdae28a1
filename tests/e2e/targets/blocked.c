/*
 * Test target: threads blocked in system calls while a patch is applied.
 * Usage: blocked MAIN [KIND...], where MAIN (read, accept, epoll, sleep,
 * futex or cond) is the wait the main thread itself performs, and each KIND
 * (default: every other kind) waits in a thread of its own.  suture runs its
 * injected system calls in the main thread, so MAIN tests the restart of
 * that call.
 *   read    read() on a pipe
 *   accept  accept() on a listening TCP socket bound to 127.0.0.1
 *   epoll   epoll_wait() on a pipe, no timeout
 *   sleep   nanosleep() of 2 s, timed with CLOCK_MONOTONIC; it starts on
 *           the request "fire sleep", before which the waiter reads a pipe
 *   futex   raw FUTEX_WAIT on a word
 *   cond    pthread_cond_wait() until a flag is set
 * A control thread reads requests on stdin and prints one line for each:
 *   tid KIND       the thread id of the waiter
 *   fire KIND      end the wait (write to the pipe, connect, set the flag),
 *                  or for sleep, start it
 *   result KIND    "pending", or what the wait returned
 *   compute N      the result of compute(N), the function the tests replace
 * Every EINTR a waiter sees is counted in its result and printed.  A waiter
 * retries after EINTR, so the final result still arrives.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_MS 2000

__attribute__((noipa)) int compute(int x)
{
	if (x < 0)
		return -1;
	return x + 1;
}

enum kind { K_READ, K_ACCEPT, K_EPOLL, K_SLEEP, K_FUTEX, K_COND, K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"read", "accept", "epoll", "sleep", "futex", "cond"
};

struct waiter {
	atomic_int tid;
	atomic_int eintr;
	pthread_mutex_t lock;
	int done;
	char result[160];
};

static struct waiter waiters[K_COUNT];
static int read_pipe[2], epoll_pipe[2], sleep_gate[2], listen_fd, epoll_fd;
static uint16_t listen_port;
static atomic_int futex_word;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_flag;

static void note_eintr(enum kind k)
{
	atomic_fetch_add(&waiters[k].eintr, 1);
	fprintf(stderr, "EINTR in %s\n", kind_names[k]);
}

static void finish(enum kind k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void finish(enum kind k, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&waiters[k].lock);
	va_start(ap, fmt);
	vsnprintf(waiters[k].result, sizeof(waiters[k].result), fmt, ap);
	va_end(ap);
	waiters[k].done = 1;
	pthread_mutex_unlock(&waiters[k].lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_read(void)
{
	char buf[64];
	ssize_t n;
	while ((n = read(read_pipe[0], buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		note_eintr(K_READ);
	if (n < 0) {
		finish(K_READ, "error %s eintr %d", strerror(errno), atomic_load(&waiters[K_READ].eintr));
		return;
	}
	buf[n] = '\0';
	finish(K_READ, "data %s eintr %d", buf, atomic_load(&waiters[K_READ].eintr));
}

static void wait_accept(void)
{
	struct sockaddr_in peer;
	socklen_t len;
	int fd;
	do {
		len = sizeof(peer);
		fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
	} while (fd < 0 && errno == EINTR && (note_eintr(K_ACCEPT), 1));
	if (fd < 0) {
		finish(K_ACCEPT, "error %s eintr %d", strerror(errno),
		       atomic_load(&waiters[K_ACCEPT].eintr));
		return;
	}
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof(addr));
	finish(K_ACCEPT, "peer %s eintr %d", addr, atomic_load(&waiters[K_ACCEPT].eintr));
	close(fd);
}

static void wait_epoll(void)
{
	struct epoll_event ev;
	int n;
	while ((n = epoll_wait(epoll_fd, &ev, 1, -1)) < 0 && errno == EINTR)
		note_eintr(K_EPOLL);
	if (n < 0) {
		finish(K_EPOLL, "error %s eintr %d", strerror(errno),
		       atomic_load(&waiters[K_EPOLL].eintr));
		return;
	}
	finish(K_EPOLL, "events %d readable %d eintr %d", n, (ev.events & EPOLLIN) != 0,
	       atomic_load(&waiters[K_EPOLL].eintr));
}

static void wait_sleep(void)
{
	struct timespec left = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };
	char go;
	ssize_t n;

	while ((n = read(sleep_gate[0], &go, 1)) < 0 && errno == EINTR)
		note_eintr(K_SLEEP);
	if (n != 1) {
		finish(K_SLEEP, "error reading the start signal: %s", n < 0 ? strerror(errno) : "EOF");
		return;
	}
	int64_t start = now_ms();
	while (nanosleep(&left, &left) != 0) {
		if (errno != EINTR) {
			finish(K_SLEEP, "error %s", strerror(errno));
			return;
		}
		note_eintr(K_SLEEP);
	}
	finish(K_SLEEP, "slept_ms %lld eintr %d", (long long)(now_ms() - start),
	       atomic_load(&waiters[K_SLEEP].eintr));
}

/* Counts every return of FUTEX_WAIT, so a spurious wake-up shows as returns > 1. */
static void wait_futex(void)
{
	int returns = 0;
	while (atomic_load(&futex_word) == 0) {
		long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		returns++;
		if (r < 0 && errno == EINTR)
			note_eintr(K_FUTEX);
	}
	finish(K_FUTEX, "word %d returns %d eintr %d", atomic_load(&futex_word), returns,
	       atomic_load(&waiters[K_FUTEX].eintr));
}

static void wait_cond(void)
{
	int wakeups = 0;
	pthread_mutex_lock(&cond_lock);
	while (!cond_flag) {
		pthread_cond_wait(&cond, &cond_lock);
		wakeups++;
	}
	pthread_mutex_unlock(&cond_lock);
	finish(K_COND, "flag 1 wakeups %d eintr %d", wakeups, atomic_load(&waiters[K_COND].eintr));
}

static void (*const wait_functions[K_COUNT])(void) = {
	wait_read, wait_accept, wait_epoll, wait_sleep, wait_futex, wait_cond
};

static void run_waiter(enum kind k)
{
	atomic_store(&waiters[k].tid, (int)gettid());
	wait_functions[k]();
}

static void *waiter_thread(void *arg)
{
	run_waiter((enum kind)(intptr_t)arg);
	return NULL;
}

static int fire(enum kind k)
{
	switch (k) {
	case K_READ:
		return write(read_pipe[1], "hello-pipe", 10) == 10 ? 0 : -1;
	case K_ACCEPT: {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(listen_port) };
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
			return -1;
		return 0; /* the connection stays open until the process exits */
	}
	case K_EPOLL:
		return write(epoll_pipe[1], "x", 1) == 1 ? 0 : -1;
	case K_SLEEP:
		return write(sleep_gate[1], "s", 1) == 1 ? 0 : -1;
	case K_FUTEX:
		atomic_store(&futex_word, 1);
		return syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0 ? -1 : 0;
	case K_COND:
		pthread_mutex_lock(&cond_lock);
		cond_flag = 1;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&cond_lock);
		return 0;
	default:
		return -1;
	}
}

static int parse_kind(const char *s)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -1;
}

static void *control_thread(void *arg)
{
	char line[256], word[32];
	(void)arg;
	while (fgets(line, sizeof(line), stdin)) {
		int n, k = -1;
		if (sscanf(line, "compute %d", &n) == 1) {
			printf("compute %d = %d\n", n, compute(n));
			continue;
		}
		if (sscanf(line, "%*s %31s", word) == 1)
			k = parse_kind(word);
		if (k < 0) {
			printf("unknown request\n");
		} else if (!strncmp(line, "tid ", 4)) {
			printf("tid %s = %d\n", kind_names[k], atomic_load(&waiters[k].tid));
		} else if (!strncmp(line, "fire ", 5)) {
			printf("fire %s = %s\n", kind_names[k], fire(k) ? strerror(errno) : "ok");
		} else if (!strncmp(line, "result ", 7)) {
			pthread_mutex_lock(&waiters[k].lock);
			printf("result %s = %s\n", kind_names[k],
			       waiters[k].done ? waiters[k].result : "pending");
			pthread_mutex_unlock(&waiters[k].lock);
		} else {
			printf("unknown request\n");
		}
	}
	exit(0);
	return NULL;
}

static int set_up(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	struct epoll_event ev = { .events = EPOLLIN };

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe(read_pipe) || pipe(epoll_pipe) || pipe(sleep_gate))
		return -1;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(listen_fd, 4) || getsockname(listen_fd, (struct sockaddr *)&addr, &len))
		return -1;
	listen_port = ntohs(addr.sin_port);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, epoll_pipe[0], &ev))
		return -1;
	for (int k = 0; k < K_COUNT; k++)
		pthread_mutex_init(&waiters[k].lock, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int main_kind = argc >= 2 ? parse_kind(argv[1]) : -1;
	int started[K_COUNT] = { 0 };
	pthread_t t;

	for (int i = 2; i < argc && main_kind >= 0; i++) {
		int k = parse_kind(argv[i]);
		if (k < 0) {
			main_kind = -1;
			break;
		}
		started[k] = 1;
	}
	if (main_kind < 0) {
		fprintf(stderr, "usage: blocked MAIN [KIND...], each one of read, accept, epoll, "
			"sleep, futex, cond\n");
		return 2;
	}
	if (argc == 2)
		for (int k = 0; k < K_COUNT; k++)
			started[k] = 1;
	started[main_kind] = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (set_up()) {
		perror("blocked: setup");
		return 1;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if (!started[k])
			continue;
		if (pthread_create(&t, NULL, waiter_thread, (void *)(intptr_t)k)) {
			fprintf(stderr, "blocked: pthread_create failed\n");
			return 1;
		}
	}
	if (pthread_create(&t, NULL, control_thread, NULL)) {
		fprintf(stderr, "blocked: pthread_create failed\n");
		return 1;
	}
	printf("ready %d main %s port %u\n", getpid(), kind_names[main_kind], listen_port);
	run_waiter((enum kind)main_kind);
	/* The main thread stays alive, so the process never looks like a zombie. */
	for (;;)
		pause();
}

// Test target for C++ unwinding through replaced code.  It reads requests on
// stdin and prints replies like basic.c.  The three replaced functions are
// each reached through a caller in this file, so unwinding out of the new
// code must continue into the old code:
//   "parse N"  parse_value(N) inside a try block; the reply names the
//              exception the caller caught, or the value
//   "cancel"   starts a thread that loops in wait_step(), waits until that
//              thread is inside the function, cancels it with pthread_cancel
//              and joins it.  The reply tells whether pthread_join returned
//              PTHREAD_CANCELED and how many destructors of local objects
//              ran in wait_step and in its caller step_loop
//   "trace"    take_trace() fills an array with glibc's backtrace(), and
//              the reply tells whether any frame lies in main
// Built with -rdynamic so that dladdr() can name main.
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <typeinfo>

std::atomic<int> steps_entered{0};
std::atomic<int> destructors_run{0};
std::atomic<int> traces_taken{0};
std::atomic<int> loop_destructors_run{0};

struct StepMark {
	StepMark() { steps_entered++; }
	~StepMark() { destructors_run++; }
};

__attribute__((noipa)) int parse_value(int x)
{
	if (x < 0)
		throw std::invalid_argument("negative");
	return x * 2;
}

__attribute__((noipa)) void wait_step()
{
	StepMark mark;
	// A cancellation point that lasts until the cancel: one call, one mark.
	sleep(600);
}

// Counting after the call keeps backtrace() from being a tail call, so this
// function's frame is on the stack while backtrace() walks it.
__attribute__((noipa)) int take_trace(void **frames, int max)
{
	int n = backtrace(frames, max);
	traces_taken++;
	return n;
}

struct LoopMark {
	~LoopMark() { loop_destructors_run++; }
};

static void *step_loop(void *)
{
	LoopMark mark;
	for (;;)
		wait_step();
	return nullptr;
}

static void reply_parse(int x)
{
	try {
		int value = parse_value(x);
		std::printf("parse %d = %d\n", x, value);
	} catch (const std::exception &e) {
		std::printf("parse %d caught %s: %s\n", x, typeid(e).name(), e.what());
	}
}

static void reply_cancel()
{
	pthread_t thread;
	void *result = nullptr;

	int entered = steps_entered.load();
	int destroyed = destructors_run.load();
	int loop_destroyed = loop_destructors_run.load();
	if (pthread_create(&thread, nullptr, step_loop, nullptr)) {
		std::printf("cancel failed: pthread_create\n");
		return;
	}
	while (steps_entered.load() == entered)
		usleep(100);
	pthread_cancel(thread);
	pthread_join(thread, &result);
	std::printf("cancel joined %s, destructors in wait_step %d, in step_loop %d\n",
		    result == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "another value",
		    destructors_run.load() - destroyed, loop_destructors_run.load() - loop_destroyed);
}

__attribute__((noipa)) static void reply_trace()
{
	void *frames[64];
	int n = take_trace(frames, 64);
	bool reaches_main = false;

	for (int i = 0; i < n; i++) {
		Dl_info info;
		if (dladdr(frames[i], &info) && info.dli_sname && !std::strcmp(info.dli_sname, "main"))
			reaches_main = true;
	}
	std::printf("trace %d frames, reaches main %s\n", n, reaches_main ? "yes" : "no");
}

int main()
{
	char line[256];

	setvbuf(stdout, nullptr, _IOLBF, 0);
	std::printf("ready %d\n", getpid());
	while (std::fgets(line, sizeof(line), stdin)) {
		int n;
		if (std::sscanf(line, "parse %d", &n) == 1)
			reply_parse(n);
		else if (!std::strncmp(line, "cancel", 6))
			reply_cancel();
		else if (!std::strncmp(line, "trace", 5))
			reply_trace();
		else
			std::printf("unknown request\n");
	}
	return 0;
}

// Test target for registering unwind tables while other threads unwind.
// It reads one request per line on stdin and prints one reply line each.
//   "storm N"  starts N threads that throw and catch an exception through
//              rethrow() in a loop.  Once any table is registered, each of
//              those throws takes libgcc's unwinder lock.
//   "count"    replies with the number of exceptions the storm threads
//              caught so far.
//   "parse N"  calls check_value(N) inside a try block.  The reply names
//              the exception that the caller caught, or gives the value.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <typeinfo>

static std::atomic<long> caught{0};

__attribute__((noipa)) int check_value(int x)
{
	if (x < 0)
		throw std::invalid_argument("negative");
	return x + 1;
}

__attribute__((noipa)) static void rethrow(int i)
{
	throw std::runtime_error(i % 2 ? "odd" : "even");
}

static void *storm_loop(void *)
{
	for (int i = 0;; i++) {
		try {
			rethrow(i);
		} catch (const std::runtime_error &) {
			caught++;
		}
	}
	return nullptr;
}

static void reply_parse(int x)
{
	try {
		int value = check_value(x);
		std::printf("parse %d = %d\n", x, value);
	} catch (const std::exception &e) {
		std::printf("parse %d caught %s: %s\n", x, typeid(e).name(), e.what());
	}
}

int main()
{
	char line[256];

	setvbuf(stdout, nullptr, _IOLBF, 0);
	std::printf("ready %d\n", getpid());
	while (std::fgets(line, sizeof(line), stdin)) {
		int n;
		if (std::sscanf(line, "parse %d", &n) == 1) {
			reply_parse(n);
		} else if (std::sscanf(line, "storm %d", &n) == 1) {
			int started = 0;
			for (; started < n; started++) {
				pthread_t thread;
				if (pthread_create(&thread, nullptr, storm_loop, nullptr))
					break;
			}
			std::printf("storm %d started\n", started);
		} else if (!std::strncmp(line, "count", 5)) {
			std::printf("count %ld\n", caught.load());
		} else {
			std::printf("unknown request\n");
		}
	}
	return 0;
}

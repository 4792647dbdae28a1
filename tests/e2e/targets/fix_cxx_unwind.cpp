// Replacements for cxx_unwind.cpp.  Each new function leaves through the
// unwinder: parse_value throws a different exception, wait_step is cancelled
// inside the new code with a local object to destroy, and take_trace walks
// the stack from the new code.
#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

extern std::atomic<int> steps_entered;
extern std::atomic<int> destructors_run;
extern std::atomic<int> traces_taken;

struct NewStepMark {
	NewStepMark() { steps_entered++; }
	~NewStepMark() { destructors_run++; }
};

int parse_value(int x)
{
	if (x > 100)
		throw std::out_of_range("patched: above 100");
	if (x < 0)
		throw std::invalid_argument("patched: negative");
	return x * 3;
}

void wait_step()
{
	NewStepMark mark;
	sleep(600);
}

int take_trace(void **frames, int max)
{
	int n = backtrace(frames, max);
	traces_taken++;
	return n;
}

// Replacement for unwind_storm.cpp: check_value throws a new exception type,
// and catches one that the target's code throws and throws another.
#include <stdexcept>
#include <string>

int check_value(int x)
{
	if (x > 100)
		throw std::out_of_range("patched: above 100");
	try {
		if (x < 0)
			throw std::invalid_argument("patched: negative " + std::to_string(x));
	} catch (const std::invalid_argument &e) {
		throw std::domain_error(e.what());
	}
	return x + 2;
}

// Answers one request per input line; main() itself never changes.
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "shapes.h"

__attribute__((noinline)) static void handle_request(const char *cmd, long arg)
{
	try {
		if (!std::strcmp(cmd, "area"))
			std::printf("area %ld = %ld\n", arg, shapes::total_area(arg, 2));
		else if (!std::strcmp(cmd, "scaled"))
			std::printf("scaled %ld = %ld\n", arg, shapes::scaled_long(arg));
		else if (!std::strcmp(cmd, "checked"))
			std::printf("checked %ld = %ld\n", arg, shapes::checked_area(arg));
		else
			std::printf("unknown %s\n", cmd);
	} catch (const std::exception &e) {
		std::printf("caught %s\n", e.what());
	}
}

int main()
{
	char line[256], cmd[64];
	long arg;

	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	std::printf("ready\n");
	while (std::fgets(line, sizeof(line), stdin)) {
		arg = 0;
		if (std::sscanf(line, "%63s %ld", cmd, &arg) >= 1)
			handle_request(cmd, arg);
	}
	return 0;
}

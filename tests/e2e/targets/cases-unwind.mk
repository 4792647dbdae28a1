# Targets of the unwinding tests: a C program cancelled and traced inside
# replaced code, built with -fexceptions and, as unwind-c-plain, without
# (which does not link libgcc_s), and a C++ program whose threads throw
# while patches are applied and reverted.
UNWIND_CXXFLAGS = -O2 -g -Wall -Wextra -pthread -std=c++17

TARGETS += $(OUT)/unwind-c $(OUT)/unwind-c-plain $(OUT)/fix_unwind_c.o \
	$(OUT)/unwind-storm $(OUT)/fix_unwind_storm.o

$(OUT)/unwind-c: unwind_c.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Wextra -std=c11 -fexceptions -fPIE -pie -rdynamic -o $@ $< -ldl

$(OUT)/unwind-c-plain: unwind_c.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Wextra -std=c11 -fPIE -pie -rdynamic -o $@ $< -ldl

$(OUT)/unwind-storm: unwind_storm.cpp
	@mkdir -p $(OUT)
	$(CXX) $(UNWIND_CXXFLAGS) -fPIE -pie -o $@ $<

$(OUT)/fix_unwind_storm.o: fix_unwind_storm.cpp
	@mkdir -p $(OUT)
	$(CXX) -O2 -g -fPIC -ffunction-sections -fdata-sections -std=c++17 -c -o $@ $<

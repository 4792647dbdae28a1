# Targets of the seccomp, killed-patcher and C++ exception tests.
CXXFLAGS_TARGET = -O2 -g -Wall -Wextra -pthread -std=c++17
FIXCXXFLAGS = -O2 -g -fPIC -ffunction-sections -fdata-sections -std=c++17 -c

TARGETS += $(OUT)/sandboxed $(OUT)/fix_sandboxed.o

$(OUT)/sandboxed: sandboxed.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Wextra -std=c11 -fPIE -pie -o $@ $<

TARGETS += $(OUT)/worker $(OUT)/fix_worker.o

$(OUT)/worker: worker.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Wextra -std=c11 -fPIE -pie -o $@ $<

TARGETS += $(OUT)/cxx-unwind $(OUT)/fix_cxx_unwind.o

$(OUT)/cxx-unwind: cxx_unwind.cpp
	@mkdir -p $(OUT)
	$(CXX) $(CXXFLAGS_TARGET) -fPIE -pie -rdynamic -o $@ $<

$(OUT)/fix_cxx_unwind.o: fix_cxx_unwind.cpp
	@mkdir -p $(OUT)
	$(CXX) $(FIXCXXFLAGS) -o $@ $<

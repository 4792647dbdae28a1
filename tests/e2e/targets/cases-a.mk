# Targets of the engine tests: busy functions, blocked system calls, malloc
# storms, shared libraries, stacked patches and invalid inputs.
CFLAGS_A = -O2 -g -Wall -Wextra -std=c11 -pthread

TARGETS += $(OUT)/busy $(OUT)/fix_busy.o \
	$(OUT)/blocked $(OUT)/fix_blocked.o \
	$(OUT)/storm $(OUT)/fix_storm.o \
	$(OUT)/libdemo.so $(OUT)/uselib $(OUT)/fix_libdemo.o \
	$(OUT)/fix_basic2.o $(OUT)/fix_missing.o \
	$(OUT)/tracer $(OUT)/entryloop $(OUT)/fix_entryloop.o

$(OUT)/busy $(OUT)/blocked $(OUT)/storm $(OUT)/tracer: $(OUT)/%: %.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_A) -fPIE -pie -o $@ $<

$(OUT)/uselib: uselib.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_A) -fPIE -pie -o $@ $< -ldl

$(OUT)/libdemo.so: libdemo.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_A) -fPIC -shared -o $@ $<

# -Os leaves loops unaligned, so a loop may start inside a function's first
# 5 bytes.
$(OUT)/entryloop: entryloop.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_A) -Os -fPIE -pie -o $@ $<

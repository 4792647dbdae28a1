# Targets of the exact stack check test.
TARGETS += $(OUT)/stale $(OUT)/fix_stale.o

$(OUT)/stale: stale.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

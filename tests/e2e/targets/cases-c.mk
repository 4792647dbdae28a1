# Targets of the exact stack check test.
TARGETS += $(OUT)/stale $(OUT)/fix_stale.o $(OUT)/fix_waiter_sleeps.o

$(OUT)/stale: stale.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

# A shared library whose exported function calls a hidden one in another file.
TARGETS += $(OUT)/libhidden.so $(OUT)/usehidden $(OUT)/fix_hidden.o

$(OUT)/libhidden.so: libhidden_a.c libhidden_b.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $^

$(OUT)/usehidden: usehidden.c $(OUT)/libhidden.so
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $< -L$(OUT) -lhidden -Wl,-rpath,'$$ORIGIN'

# Signal delivery while patching.
TARGETS += $(OUT)/signals

$(OUT)/signals: signals.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

# A signal handler on an alternate stack, above a frame of the replaced function.
TARGETS += $(OUT)/altstack $(OUT)/fix_altstack.o

$(OUT)/altstack: altstack.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

# Calls and pointers between replaced functions, across stacked patches.
TARGETS += $(OUT)/chain $(OUT)/fix_chain1.o $(OUT)/fix_chain2.o

$(OUT)/chain: chain.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

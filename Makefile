# suture build.  `make` builds bin/suture; `make check` runs the whole test suite.
CC ?= gcc
SAN ?=
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
PKGS = libelf libdw capstone libsodium
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS += $(shell pkg-config --libs $(PKGS))
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif

BUILD = build$(if $(SAN),-san)
LIB_SRC = $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(BUILD)/src/cli/main.o

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all check unit e2e clean fuzz
all: bin/suture$(if $(SAN),-san) $(UNIT_BIN)

bin/suture$(if $(SAN),-san): $(CLI_OBJ) $(BUILD)/libsuture.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libsuture.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libsuture.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The test suite, with the Debian packages it needs installed first.
check:
	scripts/install-deps
	$(MAKE) all
	tests/run

fuzz:
	$(MAKE) -C tests/fuzz

clean:
	rm -rf build build-san bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

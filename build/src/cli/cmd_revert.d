build/src/cli/cmd_revert.o: src/cli/cmd_revert.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

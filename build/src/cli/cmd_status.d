build/src/cli/cmd_status.o: src/cli/cmd_status.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

build/src/cli/cmd_apply.o: src/cli/cmd_apply.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

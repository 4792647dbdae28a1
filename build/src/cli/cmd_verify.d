build/src/cli/cmd_verify.o: src/cli/cmd_verify.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

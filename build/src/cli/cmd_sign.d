build/src/cli/cmd_sign.o: src/cli/cmd_sign.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

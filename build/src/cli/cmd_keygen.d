build/src/cli/cmd_keygen.o: src/cli/cmd_keygen.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

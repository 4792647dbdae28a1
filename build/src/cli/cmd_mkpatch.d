build/src/cli/cmd_mkpatch.o: src/cli/cmd_mkpatch.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

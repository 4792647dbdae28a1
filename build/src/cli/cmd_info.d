build/src/cli/cmd_info.o: src/cli/cmd_info.c src/cli/commands.h \
 src/util/exitcode.h
src/cli/commands.h:
src/util/exitcode.h:

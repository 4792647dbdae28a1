/* Entry points of the suture subcommands; each returns an enum suture_exit. */
#ifndef SUTURE_COMMANDS_H
#define SUTURE_COMMANDS_H

int cmd_apply(int argc, char **argv);
int cmd_revert(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_mkpatch(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_cc_wrapper(int argc, char **argv);

#endif

#ifndef SUTURE_CHANGE_H
#define SUTURE_CHANGE_H

/* Run `suture apply` or `suture revert` (`what`); returns an enum suture_exit. */
int cli_run_change(const char *what, int argc, char **argv);

#endif

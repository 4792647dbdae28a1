/*
 * suture run: start a program with patches applied before its main().
 *
 * The child waits on a pipe until we have seized it, then executes the
 * program.  At the exec event the dynamic loader has not run yet, so we put
 * a breakpoint at the program's entry point (AT_ENTRY).  When it is reached,
 * the loader has mapped every library the program links against, and main
 * has not run.  The patches are applied there with the process stopped,
 * and the program goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include "apply/engine.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/usage.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"
#include "trust/journal.h"
#include "trust/trust.h"
#include "util/exitcode.h"
#include "util/log.h"

#define MAX_PATCHES 64

struct run_opts {
	const char *patches[MAX_PATCHES];
	size_t npatches;
	const char *trusted_dir;
	const char *journal;
	int insecure;
	char **argv;
};

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "patch", required_argument, NULL, 'p' },
		{ "trusted-dir", required_argument, NULL, 'T' },
		{ "journal", required_argument, NULL, 'J' },
		{ "insecure-skip-verify", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->trusted_dir = TRUST_DEFAULT_DIR;
	o->journal = JOURNAL_DEFAULT_PATH;
	optind = 0;
	while ((c = cli_next_option("run", argc, argv, "+vh", longopts)) != -1) {
		switch (c) {
		case 'p':
			if (o->npatches == MAX_PATCHES) {
				fprintf(stderr, "suture run: at most %d patches\n", MAX_PATCHES);
				return EXIT_USAGE;
			}
			o->patches[o->npatches++] = optarg;
			break;
		case 'T': o->trusted_dir = optarg; break;
		case 'J': o->journal = optarg; break;
		case 'I': o->insecure = 1; break;
		case 'v': log_verbosity++; break;
		case 'h':
			printf("usage: suture run --patch FIX.suture [--patch MORE.suture]... "
			       "[--trusted-dir DIR] [--insecure-skip-verify] [--journal FILE] "
			       "-- COMMAND [ARG]...\n"
			       "Starts COMMAND with the patches applied, in order, before its main().\n"
			       "Once COMMAND runs, its exit status is suture run's (128 + N after\n"
			       "signal N), and SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1 and SIGUSR2\n"
			       "sent to suture run are passed on to it.  Before that, suture run fails\n"
			       "with its own exit codes, as apply does.\n");
			exit(EXIT_OK);
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_usage_error("run", "missing the command to start, as in 'suture run --patch "
				"FIX.suture -- COMMAND [ARG]...'");
		return EXIT_USAGE;
	}
	o->argv = argv + optind;
	return EXIT_OK;
}

/* Read AT_ENTRY from /proc/PID/auxv. */
static int read_entry(pid_t pid, uint64_t *entry)
{
	char path[64];
	Elf64_auxv_t aux;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = -ENOENT;
	while (read(fd, &aux, sizeof(aux)) == sizeof(aux) && aux.a_type != AT_NULL) {
		if (aux.a_type == AT_ENTRY) {
			*entry = aux.a_un.a_val;
			ret = 0;
			break;
		}
	}
	close(fd);
	return ret;
}

/* Wait for a ptrace stop of `pid`; returns the status, or -1 if it ended. */
static int wait_for_stop(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, __WALL) == pid) {
		if (WIFSTOPPED(status))
			return status;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -1;
	}
	return -1;
}

/*
 * Start the program and run it up to its entry point.  On success the child
 * is seized, stopped in an interrupt stop with rip at the entry, and `set`
 * contains its one thread.  When exec fails, *exec_errno is its errno.
 */
static int start_to_entry(char **argv, struct thread_set *set, pid_t *child_out,
			  int *exec_errno)
{
	int gate[2], failure[2];
	uint8_t saved = 0, trap = 0xcc;
	uint64_t entry = 0;

	*exec_errno = 0;
	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	if (pipe2(failure, O_CLOEXEC)) {
		close(gate[0]);
		close(gate[1]);
		return -errno;
	}
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		char go;
		close(gate[1]);
		close(failure[0]);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		int err = errno;
		if (write(failure[1], &err, sizeof(err)) != sizeof(err))
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(failure[1]);
	*child_out = child;
	if (ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD) < 0) {
		close(failure[0]);
		return -errno;
	}
	if (write(gate[1], "g", 1) != 1) {
		close(failure[0]);
		return -EIO;
	}
	close(gate[1]);

	int status = wait_for_stop(child);
	if (status < 0 || (status >> 8) != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
		/* A successful exec closed the pipe, and a failed one wrote its errno. */
		if (read(failure[0], exec_errno, sizeof(*exec_errno)) != sizeof(*exec_errno))
			*exec_errno = 0;
		close(failure[0]);
		return -ENOEXEC;
	}
	close(failure[0]);
	int memfd = proc_mem_open(child);
	if (memfd < 0)
		return memfd;
	int ret = read_entry(child, &entry);
	if (!ret)
		ret = proc_mem_read(memfd, entry, &saved, 1);
	if (!ret)
		ret = proc_mem_write(memfd, entry, &trap, 1);
	if (!ret && ptrace(PTRACE_CONT, child, 0, 0) < 0)
		ret = -errno;
	while (!ret) {
		status = wait_for_stop(child);
		if (status < 0) {
			ret = -ESRCH;
			break;
		}
		if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP)
			break;
		/* Any other signal before the entry is passed on. */
		int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
		if (ptrace(PTRACE_CONT, child, 0, sig) < 0)
			ret = -errno;
	}
	struct user_regs_struct regs;
	if (!ret)
		ret = proc_mem_write(memfd, entry, &saved, 1);
	close(memfd);
	if (!ret && ptrace(PTRACE_GETREGS, child, 0, &regs) < 0)
		ret = -errno;
	if (!ret && regs.rip != entry + 1)
		ret = -EFAULT;
	regs.rip = entry;
	if (!ret && ptrace(PTRACE_SETREGS, child, 0, &regs) < 0)
		ret = -errno;
	if (ret)
		return ret;

	/* Leave the SIGTRAP's signal-delivery-stop for an interrupt stop, so
	 * the SIGTRAP is dropped and never delivered. */
	if (ptrace(PTRACE_INTERRUPT, child, 0, 0) < 0 || ptrace(PTRACE_CONT, child, 0, 0) < 0)
		return -errno;
	status = wait_for_stop(child);
	if (status < 0 || (status >> 16) != PTRACE_EVENT_STOP)
		return -EIO;
	memset(set, 0, sizeof(*set));
	set->pid = child;
	set->count = set->alloc = 1;
	set->threads = calloc(1, sizeof(*set->threads));
	if (!set->threads)
		return -ENOMEM;
	set->threads[0].tid = child;
	set->threads[0].tgid = child;
	set->threads[0].state = THREAD_STOPPED;
	if (ptrace(PTRACE_GETREGS, child, 0, &set->threads[0].regs) < 0)
		return -errno;
	set->threads[0].regs_read = 1;
	return 0;
}

static pid_t running_child;

/*
 * Forward a signal sent to suture run to the program, as a service manager
 * expects of the command it started.  A signal from the terminal (si_code
 * SI_KERNEL) has reached the program's process group already.
 */
static void forward_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	if (running_child > 0 && info->si_code != SI_KERNEL)
		kill(running_child, sig);
}

static void forward_signals(pid_t child)
{
	static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };

	running_child = child;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
}

static int exit_status_of(pid_t child)
{
	int status;

	forward_signals(child);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_INTERNAL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct patch patches[MAX_PATCHES];
	char signers[MAX_PATCHES][17];
	struct thread_set set = { 0 };
	pid_t child = -1;

	int code = parse_run(argc, argv, &o);
	if (code != EXIT_OK)
		return code;
	code = cli_check_journal(" run", o.journal);
	if (code != EXIT_OK)
		return code;
	struct cli_opts load = { .trusted_dir = o.trusted_dir,
				 .insecure_skip_verify = o.insecure };
	for (size_t i = 0; i < o.npatches; i++) {
		char why[512];
		load.patch_path = o.patches[i];
		code = cli_load_patch(&load, &patches[i], signers[i], why, sizeof(why));
		if (code != EXIT_OK) {
			while (i-- > 0)
				patch_free(&patches[i]);
			return code;
		}
	}

	int exec_errno;
	int ret = start_to_entry(o.argv, &set, &child, &exec_errno);
	if (ret) {
		if (exec_errno)
			fprintf(stderr, "suture run: cannot execute %s: %s; check the command\n",
				o.argv[0], strerror(exec_errno));
		else
			fprintf(stderr, "suture run: failed to start %s up to its entry point: %s\n",
				o.argv[0], strerror(-ret));
		if (child > 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
		code = exec_errno ? EXIT_NO_FILE : EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < o.npatches && code == EXIT_OK; i++) {
		struct engine_opts eo = { .timeout_sec = 5, .insecure = o.insecure,
					  .signer = signers[i], .attached = &set };
		struct engine_result r;
		code = engine_apply(&patches[i], child, &eo, &r);
		struct journal_entry e = {
			.action = JOURNAL_APPLY, .pid = (int)child, .comm = r.comm,
			.object = r.object, .build_id = patches[i].build_id,
			.build_id_len = patches[i].build_id_len, .patch_id = patches[i].id,
			.patch_name = patches[i].name, .signer_key_id = signers[i][0] ? signers[i] : NULL,
			.result = code == EXIT_OK ? "ok" : "failed",
			.message = code == EXIT_OK ? "applied before main by suture run" : r.message,
			.pause_us = code == EXIT_OK ? (long long)(r.pause_ns / 1000) : -1,
			.insecure = o.insecure,
		};
		if (journal_append(o.journal, &e) && code == EXIT_OK) {
			fprintf(stderr, "suture run: writing the audit journal %s failed; the program "
				"is not started\n", o.journal ? o.journal : JOURNAL_DEFAULT_PATH);
			code = EXIT_JOURNAL;
			continue;
		}
		if (code != EXIT_OK)
			fprintf(stderr, "suture run: %s\n", r.message);
		else
			log_info("applied %s to %s before main", patches[i].name ? patches[i].name
				 : o.patches[i], r.object);
	}
	if (code != EXIT_OK) {
		kill(child, SIGKILL);
		threads_detach(&set);
		waitpid(child, NULL, 0);
		goto out;
	}
	threads_detach(&set);
	code = exit_status_of(child);
out:
	threads_free(&set);
	for (size_t i = 0; i < o.npatches; i++)
		patch_free(&patches[i]);
	return code;
}

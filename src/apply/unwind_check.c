#include "apply/unwind_check.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Deeper stacks are not walked to the end, so they keep the scan's verdict. */
#define MAX_FRAMES 4096

struct walk {
	const struct busy_range *ranges;
	size_t n;
	struct busy_report *report;
	pid_t tid;
	unsigned frames;
	int hit;
};

static int on_frame(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	if (++w->frames > MAX_FRAMES)
		return DWARF_CB_ABORT;
	/* The innermost frame's pc is the thread's rip, which the caller has
	 * checked already; outer frames hold return addresses. */
	if (w->frames == 1)
		return DWARF_CB_OK;
	for (size_t i = 0; i < w->n; i++) {
		uint64_t lo = w->ranges[i].entry_ok ? w->ranges[i].lo + 1 : w->ranges[i].lo;
		if (pc >= lo && pc < w->ranges[i].hi) {
			w->report->tid = w->tid;
			w->report->name = w->ranges[i].name;
			w->report->addr = pc;
			w->report->on_stack = 1;
			w->hit = 1;
			return DWARF_CB_ABORT;
		}
	}
	return DWARF_CB_OK;
}

/*
 * One Dwfl serves every walk of a stop: reporting the modules reads the
 * process's maps and ELF files, so it is done before the threads stop.
 */
static Dwfl *session;
static pid_t session_pid;
static int session_tried;

void unwind_check_prepare(pid_t pid)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};

	unwind_check_end();
	session_pid = pid;
	session_tried = 1;
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (!dwfl)
		return;
	/* The threads are stopped under suture's ptrace when the frames are
	 * walked: libdwfl must neither attach nor detach them. */
	if (dwfl_linux_proc_report(dwfl, pid) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0 ||
	    dwfl_linux_proc_attach(dwfl, pid, true) != 0) {
		dwfl_end(dwfl);
		return;
	}
	session = dwfl;
}

int unwind_check_ready(pid_t pid)
{
	return session_tried && session_pid == pid;
}

int unwind_check_thread(pid_t pid, pid_t tid, const struct busy_range *ranges, size_t n,
			struct busy_report *report)
{
	struct walk w = { ranges, n, report, tid, 0, 0 };

	if (!unwind_check_ready(pid))
		unwind_check_prepare(pid);
	if (!session)
		return -EIO;
	int walked = dwfl_getthread_frames(session, tid, on_frame, &w);
	if (w.hit)
		return 1;
	return walked == 0 ? 0 : -EIO; /* 0: reached the outermost frame */
}

void unwind_check_end(void)
{
	if (session)
		dwfl_end(session);
	session = NULL;
	session_pid = 0;
	session_tried = 0;
}

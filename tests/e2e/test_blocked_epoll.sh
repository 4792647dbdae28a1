# A thread blocked in epoll_wait() with no timeout is patched, reverted and
# patched again, once as the main thread (where suture injects its system
# calls) and once as another thread.  The call must stay blocked and return
# the event that arrives later, without EINTR.  The kernel ends an
# epoll_wait() with EINTR, not with a restart code, when a ptrace stop
# interrupts it, so suture has to restart the call itself.
BLOCKED_KINDS="epoll read" exec bash "$(dirname "$0")/test_blocked_syscalls.sh"

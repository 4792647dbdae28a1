# Threads blocked in read() on a pipe, accept() on a loopback socket, a 2 s
# nanosleep(), a raw FUTEX_WAIT and pthread_cond_wait() are patched, reverted
# and patched again while blocked.  Each call must stay blocked, then return
# what arrives later, with no EINTR, no spurious wake-up and no shortened
# sleep.  suture runs its injected system calls in the main thread, so one
# process per kind has the main thread in that wait.
# BLOCKED_KINDS selects other kinds; test_blocked_epoll.sh runs epoll_wait().
source "$(dirname "$0")/lib.sh"

read -ra kinds <<<"${BLOCKED_KINDS:-read accept sleep futex cond}"
# System call numbers on x86-64 that each wait may block in.  A sleep that
# was interrupted by a ptrace stop continues in restart_syscall (219).
declare -A syscalls=(
	[read]="0"
	[accept]="43 288"
	[epoll]="232 281"
	[sleep]="35 230 219"
	[sleep-gate]="0"
	[futex]="202"
	[cond]="202"
)
# What "result KIND" must be once the wait returned.
declare -A results=(
	[read]="data hello-pipe eintr 0"
	[accept]="peer 127.0.0.1 eintr 0"
	[epoll]="events 1 readable 1 eintr 0"
	[sleep]="slept_ms [0-9]+ eintr 0"
	[futex]="word 1 returns 1 eintr 0"
	[cond]="flag 1 wakeups 1 eintr 0"
)

# in_syscall PID TID KIND: true when the thread is blocked in one of the
# system calls of KIND.
in_syscall() {
	local nr
	nr=$(cut -d' ' -f1 "/proc/$1/task/$2/syscall" 2>/dev/null) || return 1
	[[ " ${syscalls[$3]} " == *" $nr "* ]]
}

# wait_blocked NAME KIND [SET]: waits until the waiter of KIND is in one of
# the system calls of SET (default: KIND) and prints its tid.
wait_blocked() {
	local name=$1 kind=$2 set=${3:-$2} pidvar=PID_$1 tid answer i
	for i in $(seq 1 150); do
		answer=$(ask "$name" "tid $kind")
		tid=${answer#"tid $kind = "}
		if [ "$tid" != 0 ] && in_syscall "${!pidvar}" "$tid" "$set"; then
			echo "$tid"
			return 0
		fi
		sleep 0.02
	done
	fail "$name: the $kind waiter (tid $tid) never blocked in its system call"
}

# check_still_blocked NAME WHEN: every waiter is pending and in its system call.
check_still_blocked() {
	local name=$1 when=$2 pidvar=PID_$1 kind tidvar
	for kind in "${kinds[@]}"; do
		expect_eq "$(ask "$name" "result $kind")" "result $kind = pending" "$name: $kind $when"
		tidvar=TID_${name}_$kind
		in_syscall "${!pidvar}" "${!tidvar}" "$kind" ||
			fail "$name: the $kind waiter left its system call $when: $(cat "/proc/${!pidvar}/task/${!tidvar}/syscall")"
	done
}

mkpatch --target "$T/blocked" --object "$T/fix_blocked.o" --replace compute \
	--name fix-blocked -o "$WORK/fix.suture" >/dev/null

# The sleep waiter first reads a pipe, and starts its 2 s sleep only on
# "fire sleep", right before its process is patched.
for main in "${kinds[@]}"; do
	start_target "m_$main" "$T/blocked" "$main" "${kinds[@]}"
done
for main in "${kinds[@]}"; do
	for kind in "${kinds[@]}"; do
		if [ "$kind" = sleep ]; then
			printf -v "TID_m_${main}_$kind" %s "$(wait_blocked "m_$main" sleep sleep-gate)"
		else
			printf -v "TID_m_${main}_$kind" %s "$(wait_blocked "m_$main" "$kind")"
		fi
	done
	pidvar=PID_m_$main
	tidvar=TID_m_${main}_$main
	expect_eq "${!tidvar}" "${!pidvar}" "m_$main: tid of the main thread's $main wait"
done

for main in "${kinds[@]}"; do
	name=m_$main
	pidvar=PID_$name
	if [[ " ${kinds[*]} " == *" sleep "* ]]; then
		expect_eq "$(ask "$name" 'fire sleep')" "fire sleep = ok" "$name: start of the sleep"
		wait_blocked "$name" sleep >/dev/null
	fi
	expect_code 0 sut apply "$WORK/fix.suture" --pid "${!pidvar}"
	check_still_blocked "$name" "after apply"
	expect_code 0 sut revert "$WORK/fix.suture" --pid "${!pidvar}"
	check_still_blocked "$name" "after revert"
	expect_code 0 sut apply "$WORK/fix.suture" --pid "${!pidvar}"
	check_still_blocked "$name" "after the second apply"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 500" "$name: compute after apply"
done

for main in "${kinds[@]}"; do
	name=m_$main
	for kind in "${kinds[@]}"; do
		[ "$kind" = sleep ] && continue
		expect_eq "$(ask "$name" "fire $kind")" "fire $kind = ok" "$name: fire $kind"
	done
done
# Every result is checked before the test fails, so one run shows all the
# waits that went wrong.
problems=()
for main in "${kinds[@]}"; do
	name=m_$main
	pidvar=PID_$name
	for kind in "${kinds[@]}"; do
		for i in $(seq 1 200); do
			answer=$(ask "$name" "result $kind")
			[ "$answer" != "result $kind = pending" ] && break
			sleep 0.02
		done
		if ! grep -Eq "^result $kind = ${results[$kind]}\$" <<<"$answer"; then
			problems+=("$name: expected '${results[$kind]}', got '$answer'")
		fi
	done
	if [[ " ${kinds[*]} " == *" sleep "* ]]; then
		slept=$(ask "$name" "result sleep" | gawk '{print $5}')
		if ! [ "$slept" -ge 2000 ] 2>/dev/null; then
			problems+=("$name: the 2 s sleep returned after '$slept' ms")
		fi
	fi
	if grep -q EINTR "$WORK/$name.out"; then
		problems+=("$name: the target printed: $(grep EINTR "$WORK/$name.out" | sort | uniq -c | tr -s ' \n' ' ')")
	fi
	if [ "$(ask "$name" 'compute 5')" != "compute 5 = 500" ]; then
		problems+=("$name: compute 5 is no longer 500 at the end")
	fi
	alive "${!pidvar}" || problems+=("$name: target died")
done
if [ ${#problems[@]} -gt 0 ]; then
	printf '%s\n' "${problems[@]}" >&2
	fail "${#problems[@]} checks of the waits failed"
fi

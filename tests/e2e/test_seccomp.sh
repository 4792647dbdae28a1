# Targets under seccomp filters.  A filter that kills on mprotect with
# PROT_EXEC, or on memory both writable and executable, must not stop the
# patch: suture maps each part with its final protections and never calls
# mprotect.  A filter that forbids a call suture needs (memfd_create, mmap
# with PROT_EXEC), whatever its action, must make apply fail with
# EXIT_SECCOMP and a message naming the call, and leave the target untouched.
# In no case may the target be killed.
source "$(dirname "$0")/sandboxed.sh"

# A filter that allows what suture does: apply and revert work.
check_allowed() {
	local mode=$1 name=${1//-/_}
	start_sandboxed "$name" "$mode"
	local pid
	pid=$(cat "$WORK/$name.pid")
	expect_filter_in_force "$name" "$pid" "$mode"
	expect_no_wx_mapping "$pid" "$mode: before apply"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: before apply"

	run_suture apply "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by apply under the $mode filter"
	[ "$CODE" = 0 ] || fail "$mode: apply failed with exit code $CODE: $ERR"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 500" "$mode: after apply"
	expect_eq "$(ask "$name" greeting)" "greeting = patched hello" "$mode: after apply"
	expect_match "$(gawk '$6 ~ /^\/memfd:suture:/ {print $2}' "/proc/$pid/maps" | sort -u | tr '\n' ' ')" \
		'r-xp' "$mode: protections of suture's mappings"
	expect_no_wx_mapping "$pid" "$mode: after apply"
	expect_threads_released "$pid"

	run_suture revert "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by revert under the $mode filter"
	[ "$CODE" = 0 ] || fail "$mode: revert failed with exit code $CODE: $ERR"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: after revert"
	grep -q "memfd:suture" "/proc/$pid/maps" && fail "$mode: suture mapping left after revert"
	expect_no_wx_mapping "$pid" "$mode: after revert"
	expect_filter_in_force "$name" "$pid" "$mode"
	echo "$mode: applied and reverted"
}

# A filter that forbids a call suture needs: refused, target untouched.
check_refused() {
	local mode=$1 call=$2 name=${1//-/_}
	start_sandboxed "$name" "$mode"
	local pid
	pid=$(cat "$WORK/$name.pid")
	expect_filter_in_force "$name" "$pid" "$mode"
	local text_before maps_before
	text_before=$(snapshot_text "$pid" "$T/sandboxed")
	maps_before=$(cat "/proc/$pid/maps")

	run_suture apply "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by apply under the $mode filter (exit code of apply $CODE: $ERR)"
	if [ "$CODE" = 0 ]; then
		# Allowed by the case: a path the filter permits.
		expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 500" "$mode: after apply"
		echo "$mode: applied"
		return 0
	fi
	expect_eq "$CODE" "$EXIT_SECCOMP" "$mode: exit code of the refused apply ($ERR)"
	expect_match "$ERR" "seccomp" "$mode: error message"
	expect_match "$ERR" "$call" "$mode: error message"
	expect_match "$ERR" "process $pid" "$mode: error message"
	expect_eq "$(snapshot_text "$pid" "$T/sandboxed")" "$text_before" "$mode: text after refusal"
	expect_eq "$(cat "/proc/$pid/maps")" "$maps_before" "$mode: mappings after refusal"
	expect_no_memfd "$pid"
	expect_threads_released "$pid"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: after refusal"
	expect_filter_in_force "$name" "$pid" "$mode"
	echo "$mode: refused: $ERR"
}

check_allowed mprotect-exec
check_allowed wx
check_refused mmap-exec 'mmap with PROT_EXEC'
check_refused memfd-kill memfd_create
check_refused memfd-errno memfd_create
check_refused memfd-trap memfd_create

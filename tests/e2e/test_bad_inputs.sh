# Invalid requests each give their own exit code and one clear line, and
# leave the target untouched: text unchanged, no suture mapping, no tracer.
# Invalid patch files are rejected before suture traces any process or
# touches its memory, which strace shows.
source "$(dirname "$0")/lib.sh"

# sut without its stderr redirection, so expect_code keeps the error message.
suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# message: the output of the last command without the warning that
# --insecure-skip-verify always prints.
message() {
	grep -v 'WARNING: --insecure-skip-verify' "$WORK/last" || true
}

# expect_one_line WHAT REGEX: the message is one line matching REGEX.
expect_one_line() {
	local text
	text=$(message)
	expect_eq "$(grep -c . <<<"$text")" 1 "lines of the $1 message"
	expect_match "$text" "$2" "$1 message"
}

# check_untouched WHEN: the target is as it was at the start.
check_untouched() {
	local status
	expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "text $1"
	if grep -q "memfd:suture" "/proc/$pid/maps"; then
		fail "suture mapping in the target $1"
	fi
	for status in /proc/"$pid"/task/*/status; do
		expect_eq "$(gawk '/^TracerPid:/ {print $2}' "$status")" 0 "TracerPid $1"
	done
	expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute $1"
	alive "$pid" || fail "target died $1"
}

# expect_no_process_access CODE COMMAND...: runs COMMAND under strace,
# expecting exit code CODE, and checks that it neither traced the target nor
# read or wrote its memory.  Reading /proc/PID/comm for the journal is fine.
expect_no_process_access() {
	local code=$1
	shift
	expect_code "$code" strace -f -qq -o "$WORK/strace.out" \
		-e trace=ptrace,process_vm_readv,process_vm_writev,openat "$@"
	if grep -q 'ptrace(' "$WORK/strace.out"; then
		fail "'$*' called ptrace: $(grep 'ptrace(' "$WORK/strace.out" | head -3)"
	fi
	if grep -Eq "process_vm_|\"/proc/$pid/(task/[0-9]+/)?mem\"" "$WORK/strace.out"; then
		fail "'$*' accessed the memory of process $pid: $(grep -E "process_vm_|/proc/$pid/" "$WORK/strace.out" | head -3)"
	fi
}

exe=$T/basic-pie
mkpatch --target "$exe" --object "$T/fix_basic.o" --replace compute \
	--name fix-basic -o "$WORK/fix.suture" >/dev/null
start_target app "$exe"
pid=$PID_app
text_before=$(snapshot_text "$pid" "$exe")

# The strace check can fail: a valid apply does trace the target.
expect_code 0 strace -f -qq -o "$WORK/strace.out" -e trace=ptrace \
	"$SUTURE" apply "$WORK/fix.suture" --pid "$pid" --insecure-skip-verify --journal "$JOURNAL"
grep -q 'ptrace(PTRACE_SEIZE' "$WORK/strace.out" || fail "strace did not see suture's PTRACE_SEIZE"
expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
check_untouched "after the strace check"

# Unknown pid: a pid above pid_max can never exist.
missing=$(($(cat /proc/sys/kernel/pid_max) + 1))
expect_code 4 suture_cmd apply "$WORK/fix.suture" --pid "$missing"
expect_one_line "unknown pid" "no process with pid $missing"
expect_code 4 suture_cmd revert "$WORK/fix.suture" --pid "$missing"
expect_one_line "unknown pid (revert)" "no process with pid $missing"

# A process that does not map the patch's build: basic-nopie.
start_target nopie "$T/basic-nopie"
pie_id=$(readelf -n "$exe" | gawk '/Build ID:/ {print $3}')
nopie_id=$(readelf -n "$T/basic-nopie" | gawk '/Build ID:/ {print $3}')
[ "$pie_id" != "$nopie_id" ] || fail "basic-pie and basic-nopie have the same build-id"
nopie_text=$(snapshot_text "$PID_nopie" "$T/basic-nopie")
expect_code 5 suture_cmd apply "$WORK/fix.suture" --pid "$PID_nopie"
expect_one_line "build-id mismatch" "process $PID_nopie"
expect_match "$(message)" "$pie_id" "build-id mismatch message, the patch's build-id"
expect_match "$(message)" "$nopie_id" "build-id mismatch message, the process's build-id"
expect_eq "$(snapshot_text "$PID_nopie" "$T/basic-nopie")" "$nopie_text" "basic-nopie text after mismatch"
expect_eq "$(gawk '/^TracerPid:/ {print $2}' "/proc/$PID_nopie/status")" 0 "basic-nopie TracerPid"
expect_eq "$(ask nopie 'compute 5')" "compute 5 = 6" "basic-nopie after mismatch"

# A function that the target does not define: mkpatch rejects it.
expect_code 10 mkpatch --target "$exe" --object "$T/fix_missing.o" --replace not_in_basic \
	--name fix-missing -o "$WORK/missing.suture"
expect_one_line "missing function" "function not_in_basic not found in basic-pie"
[ ! -e "$WORK/missing.suture" ] || fail "mkpatch wrote a patch for a missing function"

# Invalid patch files, rejected before any process is traced or its memory read.
size=$(stat -c %s "$WORK/fix.suture")
head -c $((size / 2)) "$WORK/fix.suture" >"$WORK/truncated.suture"
head -c 40 "$WORK/fix.suture" >"$WORK/header-only.suture"
cp "$WORK/fix.suture" "$WORK/flags.suture"
printf '\x01' | dd of="$WORK/flags.suture" bs=1 seek=24 conv=notrunc 2>/dev/null
cp "$WORK/fix.suture" "$WORK/reserved.suture"
printf '\x5a' | dd of="$WORK/reserved.suture" bs=1 seek=44 conv=notrunc 2>/dev/null
cp "$WORK/fix.suture" "$WORK/magic.suture"
printf 'X' | dd of="$WORK/magic.suture" bs=1 seek=0 conv=notrunc 2>/dev/null
cp "$WORK/fix.suture" "$WORK/version.suture"
printf '\x02\x00' | dd of="$WORK/version.suture" bs=1 seek=8 conv=notrunc 2>/dev/null
declare -A invalid=(
	[truncated]="invalid patch file.*truncated"
	[header-only]="invalid patch file.*truncated"
	[flags]="invalid patch file.*header flags"
	[reserved]="invalid patch file.*reserved header bytes"
	[magic]="invalid patch file.*not a suture patch file"
	[version]="invalid patch file.*version 2\.[0-9]+ is not supported"
)
for name in truncated header-only flags reserved magic version; do
	for verb in apply revert; do
		expect_no_process_access 3 "$SUTURE" "$verb" "$WORK/$name.suture" --pid "$pid" \
			--insecure-skip-verify --journal "$JOURNAL"
		expect_one_line "$name patch ($verb)" "${invalid[$name]}"
	done
	check_untouched "after the $name patch"
done
expect_no_process_access 3 "$SUTURE" apply "$WORK/truncated.suture" --all \
	--insecure-skip-verify --journal "$JOURNAL"
expect_one_line "truncated patch (--all)" "invalid patch file.*truncated"

# Not root and without CAP_SYS_PTRACE: user nobody, on a root process.
shared=$(mktemp -d /tmp/suture-e2e-nobody.XXXXXX)
chmod 755 "$shared"
cp "$WORK/fix.suture" "$shared/fix.suture"
chmod 644 "$shared/fix.suture"
# A journal that user nobody may write, so that the rejection is the ptrace one.
install -m 600 -o nobody /dev/null "$shared/journal.jsonl"
code=0
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$SUTURE" apply "$shared/fix.suture" --pid "$pid" --insecure-skip-verify \
	--journal "$shared/journal.jsonl" >"$WORK/last" 2>&1 || code=$?
rm -rf "$shared"
expect_eq "$code" 6 "exit code as user nobody"
expect_one_line "permission" "process $pid.*CAP_SYS_PTRACE"
check_untouched "after the apply as nobody"

# Already traced by another tracer, which the message names.
start_target tracer "$T/tracer" "$pid"
expect_eq "$(gawk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" "$PID_tracer" "TracerPid under the tracer"
expect_code 7 suture_cmd apply "$WORK/fix.suture" --pid "$pid"
expect_one_line "already traced" "process $pid is already traced by process $PID_tracer"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "text after the traced apply"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping in the target after the traced apply"
fi
expect_eq "$(gawk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" "$PID_tracer" \
	"TracerPid after the traced apply"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute while traced"
kill -9 "$PID_tracer"
for i in $(seq 1 100); do
	[ "$(gawk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" = 0 ] && break
	sleep 0.02
done
check_untouched "after the tracer exited"

# Already applied, and not applied.
expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
patched_text=$(snapshot_text "$pid" "$exe")
expect_code 16 suture_cmd apply "$WORK/fix.suture" --pid "$pid"
expect_one_line "already applied" "patch fix-basic .*is already applied to process $pid"
expect_eq "$(snapshot_text "$pid" "$exe")" "$patched_text" "text after the second apply"
expect_eq "$(grep -c "memfd:suture" "/proc/$pid/maps")" \
	"$(grep -c "memfd:suture:fix-basic" "/proc/$pid/maps")" "suture mappings after the second apply"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute after the second apply"
expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_code 16 suture_cmd revert "$WORK/fix.suture" --pid "$pid"
expect_one_line "not applied" "patch fix-basic .*is not applied to process $pid"
check_untouched "after the second revert"

# Usage errors.
usage_cases=(
	"apply|$WORK/fix.suture"
	"apply|$WORK/fix.suture --pid $pid --all"
	"apply|$WORK/fix.suture --pid abc"
	"apply|$WORK/fix.suture --pid 0"
	"apply|$WORK/fix.suture --pid -3"
	"apply|$WORK/fix.suture --pid $pid --timeout 0"
	"apply|$WORK/fix.suture --pid $pid --timeout soon"
	"apply|$WORK/fix.suture --pid $pid --no-such-option"
	"apply|$WORK/fix.suture $WORK/fix.suture --pid $pid"
	"apply|--pid $pid"
	"revert|$WORK/fix.suture"
	"status|--pid abc"
	"status|unexpected-argument"
	"revert|$WORK/fix.suture --pid $pid --allow-active"
	"apply|$WORK/fix.suture --pid $pid --history"
	"apply|$WORK/fix.suture --pid $pid --timeout 0"
)
for entry in "${usage_cases[@]}"; do
	verb=${entry%%|*}
	read -ra args <<<"${entry#*|}"
	expect_code 2 "$SUTURE" "$verb" "${args[@]}" --journal "$JOURNAL"
	expect_eq "$(grep -c . "$WORK/last")" 1 "lines of the usage error of '$verb ${args[*]}'"
done
# An audit journal that cannot be written: refused before the target is touched.
expect_code 28 "$SUTURE" apply "$WORK/fix.suture" --pid "$pid" --insecure-skip-verify \
	--journal /proc/self/no-such-dir/journal.jsonl
expect_one_line "apply with an unwritable journal" "cannot write the audit journal .*--journal PATH"
check_untouched "after the unwritable journal"

# A patch file that is missing or a directory gets its own code and one line.
expect_code 26 "$SUTURE" apply "$WORK/does-not-exist.suture" --pid "$pid" --journal "$JOURNAL"
expect_one_line "apply with a missing patch file" "cannot open .*does-not-exist.suture.*check the path"
expect_code 26 "$SUTURE" info "$WORK"
expect_one_line "info on a directory" "is a directory, not a patch file"
expect_code 2 mkpatch --target "$exe" --object "$T/fix_basic.o" -o "$WORK/x.suture"
expect_one_line "mkpatch without --replace" "missing --replace"
check_untouched "at the end"

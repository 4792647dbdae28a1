# suture run starts a program with patches applied before main: the first
# request already sees the new code, and the program's exit status is passed on.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--replace greeting --name fix-basic -o "$WORK/fix.suture" >/dev/null

out=$(printf 'compute 5\ngreeting\n' | "$SUTURE" run --patch "$WORK/fix.suture" \
	--insecure-skip-verify --journal "$JOURNAL" -- "$T/basic-pie" 2>"$WORK/run.err")
expect_match "$out" "compute 5 = 500" "first call under suture run"
expect_match "$out" "greeting = patched hello" "second function under suture run"
expect_match "$(cat "$JOURNAL")" '"action":"apply".*"result":"ok"' "journal of suture run"

# Without the patch, the same program behaves as built.
out=$(printf 'compute 5\n' | "$T/basic-pie")
expect_match "$out" "compute 5 = 6" "plain run"

# The exit status of the program is suture run's: basic-pie exits with 0 at
# the end of its input.
expect_code 0 "$SUTURE" run --patch "$WORK/fix.suture" --insecure-skip-verify \
	--journal "$JOURNAL" -- "$T/basic-pie" </dev/null
# A patch for another build: refused, and the program never runs main.
expect_code 5 "$SUTURE" run --patch "$WORK/fix.suture" --insecure-skip-verify \
	--journal "$JOURNAL" -- "$T/basic-nopie"
expect_match "$(cat "$WORK/last")" "build-id" "mismatch message"
expect_code 2 "$SUTURE" run --patch "$WORK/fix.suture"

# A command that cannot be executed: its own code and one line.
expect_code 26 "$SUTURE" run --patch "$WORK/fix.suture" --insecure-skip-verify \
	--journal "$JOURNAL" -- "$WORK/no-such-program"
expect_eq "$(grep -cv 'WARNING: --insecure-skip-verify' "$WORK/last")" 1 "lines of the exec error"
expect_match "$(cat "$WORK/last")" "cannot execute .*no-such-program: No such file or directory" \
	"exec error"

# SIGTERM sent to suture run reaches the program, whose exit status is then
# suture run's: 128 + 15.
mkfifo "$WORK/run.in"
"$SUTURE" run --patch "$WORK/fix.suture" --insecure-skip-verify --journal "$JOURNAL" -- \
	"$T/basic-pie" <"$WORK/run.in" >"$WORK/run.out" 2>&1 &
runner=$!
STARTED_PIDS+=("$runner")
exec {run_fd}>"$WORK/run.in"
wait_line run '^ready' >/dev/null
program=$(cut -d' ' -f2 <<<"$(wait_line run '^ready')")
[ "$(gawk '{print $4}' "/proc/$program/stat")" = "$runner" ] || fail "program is not suture run's child"
STARTED_PIDS+=("$program")
kill -TERM "$runner"
status=0
wait "$runner" || status=$?
expect_eq "$status" 143 "exit status of suture run after SIGTERM"
alive "$program" && fail "the program survived the SIGTERM sent to suture run"
exec {run_fd}>&-

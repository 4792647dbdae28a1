# Every command rejects an unknown option, an option without its value and
# an extra argument with exit code 2 (EXIT_USAGE) and one line on stderr that
# names the command, the problem and 'suture CMD --help'.  The rejected
# command writes no file and changes no file.  --help exits 0.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--name fix-basic -o "$WORK/fix.suture" >/dev/null
fix=$WORK/fix.suture
fix_sum=$(sha256sum <"$fix")

# A pid above pid_max never exists, so a parse that wrongly succeeds touches
# no process.
nopid=$(($(cat /proc/sys/kernel/pid_max) + 1))

# expect_usage_error NAME REGEX COMMAND ARGS...: `suture COMMAND ARGS...`
# exits with 2, prints nothing on stdout and exactly one stderr line, which
# matches REGEX and points to 'suture COMMAND --help'.
expect_usage_error() {
	local name=$1 regex=$2 command=$3
	shift 3
	local code=0 err
	"$SUTURE" "$command" "$@" >"$WORK/out" 2>"$WORK/err" || code=$?
	err=$(cat "$WORK/err")
	expect_eq "$code" 2 "exit code of $command, $name"
	expect_eq "$(wc -c <"$WORK/out")" 0 "stdout bytes of $command, $name"
	expect_eq "$(wc -l <"$WORK/err")" 1 "stderr lines of $command, $name"
	expect_match "$err" "^suture $command: " "prefix of $command, $name"
	expect_match "$err" "$regex" "message of $command, $name"
	expect_match "$err" "; see 'suture $command --help'\$" "hint of $command, $name"
}

# Unknown option, then missing value, then extra argument, for each command.
# Apart from the one error, each command line is valid.
for verb in apply revert; do
	expect_usage_error "unknown option" "unknown option '--no-such-option'" \
		"$verb" "$fix" --pid "$nopid" --journal "$JOURNAL" --no-such-option
	expect_usage_error "missing value" "option '--pid' needs a value" \
		"$verb" "$fix" --journal "$JOURNAL" --pid
	expect_usage_error "extra argument" "unexpected argument 'extra.suture' after the patch file" \
		"$verb" "$fix" extra.suture --pid "$nopid" --journal "$JOURNAL"
done

expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	status --journal "$JOURNAL" --no-such-option
expect_usage_error "missing value" "option '--journal' needs a value" \
	status --journal
expect_usage_error "extra argument" "unexpected argument 'extra'" \
	status --journal "$JOURNAL" extra

expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	info "$fix" --no-such-option
# info has no option that takes a value, so a value given to its flag takes
# the place of the missing value.
expect_usage_error "value for a flag" "option '--json' takes no value" \
	info "$fix" --json=yes
expect_usage_error "extra argument" "unexpected argument 'extra.suture' after the patch file" \
	info "$fix" extra.suture

expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	keygen --out "$WORK/key" --no-such-option
expect_usage_error "missing value" "option '--out' needs a value" \
	keygen --out
expect_usage_error "extra argument" "unexpected argument 'extra'" \
	keygen --out "$WORK/key" extra
[ ! -e "$WORK/key.key" ] && [ ! -e "$WORK/key.pub" ] || fail "a rejected keygen wrote a key file"

expect_code 0 "$SUTURE" keygen --out "$WORK/signer"
expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	sign "$fix" --key "$WORK/signer.key" --no-such-option
expect_usage_error "missing value" "option '--key' needs a value" \
	sign "$fix" --key
expect_usage_error "extra argument" "unexpected argument 'extra.suture' after the patch file" \
	sign "$fix" extra.suture --key "$WORK/signer.key"
expect_eq "$(sha256sum <"$fix")" "$fix_sum" "patch file after the rejected sign commands"

expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	verify "$fix" --trusted-dir "$WORK" --no-such-option
expect_usage_error "missing value" "option '--trusted-dir' needs a value" \
	verify "$fix" --trusted-dir
expect_usage_error "extra argument" "unexpected argument 'extra.suture' after the patch file" \
	verify "$fix" extra.suture --trusted-dir "$WORK"

mkpatch_args=(--target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute)
expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	mkpatch "${mkpatch_args[@]}" -o "$WORK/mk.suture" --no-such-option
expect_usage_error "missing value" "option '-o' needs a value" \
	mkpatch "${mkpatch_args[@]}" -o
expect_usage_error "extra argument" "unexpected argument 'extra'" \
	mkpatch "${mkpatch_args[@]}" -o "$WORK/mk.suture" extra
[ ! -e "$WORK/mk.suture" ] || fail "a rejected mkpatch wrote its output"

mkdir "$WORK/src"
build_args=(--src "$WORK/src" --diff "$WORK/fix.patch" --build true --target prog)
expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	build "${build_args[@]}" -o "$WORK/built.suture" --no-such-option
expect_usage_error "missing value" "option '--output' needs a value" \
	build "${build_args[@]}" --output
expect_usage_error "extra argument" "unexpected argument 'extra'" \
	build "${build_args[@]}" -o "$WORK/built.suture" extra
[ ! -e "$WORK/built.suture" ] || fail "a rejected build wrote its output"

# run stops reading options at the command to start, so it has no extra
# argument.  Its operand error is a missing command.
expect_usage_error "unknown option" "unknown option '--no-such-option'" \
	run --patch "$fix" --no-such-option -- "$T/basic-pie"
expect_usage_error "missing value" "option '--patch' needs a value" \
	run --patch
expect_usage_error "missing command" "missing the command to start" \
	run --patch "$fix" --journal "$JOURNAL"

# The forms that getopt_long() reports in other ways: a short option, a
# value given to an option that takes none, an abbreviation that several
# options share, and an unknown short option inside a cluster.
expect_usage_error "unknown short option" "unknown option '-x'" \
	apply "$fix" --pid "$nopid" --journal "$JOURNAL" -x
expect_usage_error "value for a flag" "option '--json' takes no value" \
	status --journal "$JOURNAL" --json=yes
expect_usage_error "ambiguous option" "ambiguous option '--a' \(--all, --allow-active\)" \
	apply "$fix" --journal "$JOURNAL" --a
expect_usage_error "unknown option in a cluster" "unknown option '-x'" \
	status --journal "$JOURNAL" --json -xv
expect_usage_error "missing patch file" "missing patch file" \
	info

# --help: exit 0, usage on stdout, nothing on stderr.
for command in apply revert status info keygen sign verify mkpatch build run; do
	code=0
	"$SUTURE" "$command" --help >"$WORK/out" 2>"$WORK/err" || code=$?
	expect_eq "$code" 0 "exit code of $command --help"
	expect_match "$(head -1 "$WORK/out")" "^usage: suture $command" "first line of $command --help"
	expect_eq "$(wc -c <"$WORK/err")" 0 "stderr bytes of $command --help"
done

# A malformed --cve is named, and a well-formed one is kept in the patch.
expect_code 2 "$SUTURE" mkpatch "${mkpatch_args[@]}" -o "$WORK/cve.suture" --cve CVE-24-1
expect_match "$(cat "$WORK/last")" "^suture mkpatch: invalid --cve 'CVE-24-1'; expected an id like CVE-2024-12345$" \
	"malformed --cve"
[ ! -e "$WORK/cve.suture" ] || fail "mkpatch with a malformed --cve wrote a patch"
expect_code 0 "$SUTURE" mkpatch "${mkpatch_args[@]}" -o "$WORK/cve.suture" --cve CVE-2024-45490
expect_match "$("$SUTURE" info "$WORK/cve.suture")" "CVE-2024-45490" "CVE id in the patch"

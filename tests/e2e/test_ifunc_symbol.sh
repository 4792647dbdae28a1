# A replacement that calls strlen, which glibc exports as an IFUNC: the
# patch must call the implementation glibc picked for this CPU, not the
# resolver (which would return a function address instead of a length).
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_ifunc.o" --replace compute \
	--name fix-ifunc -o "$WORK/fix.suture" >/dev/null
start_target app "$T/basic-pie"
expect_code 0 sut apply "$WORK/fix.suture" --pid "$PID_app"
# 5 + strlen("abcdefg") + 100 * strlen("bcdefg")
expect_eq "$(ask app 'compute 5')" "compute 5 = 612" "compute calling strlen"
alive "$PID_app" || fail "target died"

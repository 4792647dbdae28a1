# gcc -O2 clones (.constprop, .isra) and split cold parts (.cold): the patch
# replaces the clone that changed, or the parent of a changed cold part, and
# leaves unchanged clones alone.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
nm "$WORK/deployed/demo" | grep -q ' mix.constprop' || fail "fixture has no .constprop clone"
nm "$WORK/deployed/demo" | grep -q ' first_of.isra' || fail "fixture has no .isra clone"
nm "$WORK/deployed/demo" | grep -q ' checksum.cold' || fail "fixture has no .cold part"

expected() {
	local v=$1 shift=$2 mul=$3
	echo $(( ((v * 31) ^ (v >> shift)) + v * mul + (((v + 1) * 31) ^ ((v + 1) >> shift)) ))
}

build_fix clones demo clones
expect_built clones
expect_eq "$(patch_functions clones)" "mix.constprop.0" "constprop clone replaced"
start_target c1 "$WORK/deployed/demo"
expect_eq "$(ask c1 'checksum 100')" "checksum 100 = $(expected 100 3 7)" "before apply"
expect_code 0 sut apply "$WORK/clones.suture" --pid "$PID_c1"
expect_eq "$(ask c1 'checksum 100')" "checksum 100 = $(expected 100 5 7)" "constprop clone"

build_fix isra demo isra
expect_built isra
expect_eq "$(patch_functions isra)" "first_of.isra.0" "isra clone replaced"
start_target c2 "$WORK/deployed/demo"
expect_code 0 sut apply "$WORK/isra.suture" --pid "$PID_c2"
expect_eq "$(ask c2 'checksum 100')" "checksum 100 = $(expected 100 3 9)" "isra clone"

build_fix cold demo cold
expect_built cold
expect_eq "$(patch_functions cold)" "checksum" "parent of the cold part replaced"
start_target c3 "$WORK/deployed/demo"
expect_code 0 sut apply "$WORK/cold.suture" --pid "$PID_c3"
ask c3 'checksum 2000000' >/dev/null
wait_line c3 '^refusing 2000000' >/dev/null
expect_eq "$(ask c3 'checksum 100')" "checksum 100 = $(expected 100 3 7)" "hot path"
for p in "$PID_c1" "$PID_c2" "$PID_c3"; do
	alive "$p" || fail "target $p died"
done

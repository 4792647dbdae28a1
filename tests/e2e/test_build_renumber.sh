# gcc -O3 numbers the .constprop clones of a function from its last caller
# up, so a diff that adds a caller at the end of the file renumbers every
# existing clone: the deployed spread.constprop.0 is the fixed
# spread.constprop.1.  The clones pair by their code, so the patch replaces
# only the function the diff changed and no clone with another's code.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

# spread V K: what spread() in clones.c returns.
spread() {
	local v=$1 k=$2 s=0 i
	for ((i = 0; i < k; i++)); do
		s=$((s + ((v * i) ^ (v >> 3))))
	done
	echo "$s"
}

deploy_demo CFLAGS="-O3 -g"
nm "$WORK/deployed/demo" | grep -q ' spread.constprop.1$' || fail "fixture has no second .constprop clone"

build_fix renumber demo clone-renumber
expect_built renumber
expect_eq "$(patch_functions renumber)" "spread_wide" "only the changed caller replaced"
start_demo
v=10
wide=$(($(spread $v 31) + $(spread $((v + 1)) 31)))
narrow=$(($(spread $v 17) + $(spread $((v + 2)) 17)))
expect_eq "$(ask app "wide $v")" "wide $v = $wide" "wide before apply"
expect_eq "$(ask app "narrow $v")" "narrow $v = $narrow" "narrow before apply"
expect_code 0 sut apply "$WORK/renumber.suture" --pid "$PID_app"
expect_eq "$(ask app "wide $v")" "wide $v = $((wide + 1))" "changed caller after apply"
expect_eq "$(ask app "narrow $v")" "narrow $v = $narrow" "other caller's clone keeps its code"
alive "$PID_app" || fail "target died"

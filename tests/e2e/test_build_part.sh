# A .part clone (the split-off body of a function whose test gcc inlined into
# its caller) is replaced on its own; a clone that the diff turns back into a
# plain function is copied into the patch, and its caller is replaced.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

# scaled_sum N SHIFT: what scaled_sum() in clones.c returns, with its xor shift.
scaled_sum() {
	local n=$1 shift=$2 total=0 pair m k s i
	local -a w=(3 1 4 1 5 9 2 6 5 3 5 8 9 7 9 3)
	for pair in "$n 3" "$((n / 2)) 5" "$((n / 3)) 2" "$((n / 5)) 7" "$((n / 7)) 11"; do
		read -r m k <<<"$pair"
		if [ "$m" -lt 4 ]; then
			total=$((total + m))
			continue
		fi
		s=0
		for ((i = 0; i < m; i++)); do
			s=$((s + w[i & 15] * i * k))
			s=$((s ^ (s >> shift)))
			s=$((s + w[(i + k) & 15]))
		done
		for ((i = m; i > 0; i /= 2)); do
			s=$((s + w[i & 15] * w[(i >> 4) & 15]))
		done
		total=$((total + s + m))
	done
	echo "$total"
}

mix() {
	echo $(( ($1 * $2) ^ ($1 >> 3) ))
}

deploy_demo
nm "$WORK/deployed/demo" | grep -q ' scaled_sum_of.part.0$' || fail "fixture has no .part clone"

build_fix part demo part
expect_built part
expect_eq "$(patch_functions part)" "scaled_sum_of.part.0" "only the .part clone replaced"
start_target p1 "$WORK/deployed/demo"
expect_eq "$(ask p1 'sum 40')" "sum 40 = $(scaled_sum 40 3)" "before apply"
expect_code 0 sut apply "$WORK/part.suture" --pid "$PID_p1"
expect_eq "$(ask p1 'sum 40')" "sum 40 = $(scaled_sum 40 4)" "after apply"
expect_eq "$(ask p1 "sum 3")" "sum 3 = 5" "inlined test, not the clone"

# mix.constprop.0 of the deployed binary becomes a plain mix() after the diff.
build_fix clone-gone demo clone-gone
expect_built clone-gone
expect_eq "$(patch_functions clone-gone)" "checksum" "caller replaced"
expect_match "$(cat "$WORK/clone-gone.out")" "1 new function" "plain mix() is new"
start_target p2 "$WORK/deployed/demo"
v=100
first=$(( ((v * 31) ^ (v >> 3)) + v * 7 ))
expect_eq "$(ask p2 "checksum $v")" "checksum $v = $((first + $(mix $((v + 1)) 31)))" "before apply"
expect_code 0 sut apply "$WORK/clone-gone.suture" --pid "$PID_p2"
expect_eq "$(ask p2 "checksum $v")" \
	"checksum $v = $((first + $(mix $((v + 1)) 31) + $(mix $((v + 2)) 5)))" "even after apply"
v=101
first=$(( ((v * 31) ^ (v >> 3)) + v * 7 ))
expect_eq "$(ask p2 "checksum $v")" \
	"checksum $v = $((first + $(mix $((v + 1)) 31) + $(mix $((v + 2)) 3)))" "odd after apply"
alive "$PID_p1" || fail "part target died"
alive "$PID_p2" || fail "clone target died"

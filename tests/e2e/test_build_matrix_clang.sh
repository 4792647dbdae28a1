# Built patches for every clang build of the fixture: -O0 and -O2, each as a
# PIE executable, a non-PIE executable and a shared library.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

command -v clang >/dev/null || fail "clang is not installed; the README's install line includes it"
for opt in -O0 -O2; do
	for layout in pie nopie shared; do
		check_matrix_variant "clang${opt#-}$layout" clang "$opt" "$layout"
	done
done

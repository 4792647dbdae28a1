# Built patches for every gcc build of the fixture: -O0 and -O2, each as a
# PIE executable, a non-PIE executable and a shared library.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

for opt in -O0 -O2; do
	for layout in pie nopie shared; do
		check_matrix_variant "gcc${opt#-}$layout" gcc "$opt" "$layout"
	done
done

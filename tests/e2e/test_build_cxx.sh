# C++ in built patches, with g++ and clang++: a changed member function, a
# changed function template instance (a weak symbol in a COMDAT group), and a
# changed function that throws an exception that its unchanged caller catches.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"
DEMO_SRC=$ROOT/tests/build/cxxdemo

# check_cxx NAME CXX THROW_FIX MESSAGE: deploy the fixture built by CXX and
# apply each fix to a fresh process; THROW_FIX makes checked_area() throw
# MESSAGE for a negative width.
check_cxx() {
	local name=$1 cxx=$2 throw_fix=$3 message=$4 pidvar
	deploy_demo CXX="$cxx"

	build_fix "$name-method" cxxdemo cxx-method
	expect_built "$name-method"
	expect_match "$(patch_functions "$name-method")" "_ZNK6shapes4Rect4areaEv" "$name: method replaced"
	start_target "${name}_method" "$WORK/deployed/cxxdemo"
	pidvar=PID_${name}_method
	expect_eq "$(ask "${name}_method" 'area 3')" "area 3 = 6" "$name: method before apply"
	expect_code 0 sut apply "$WORK/$name-method.suture" --pid "${!pidvar}"
	expect_eq "$(ask "${name}_method" 'area 3')" "area 3 = 7" "$name: method after apply"
	alive "${!pidvar}" || fail "$name: method target died"

	build_fix "$name-template" cxxdemo cxx-template
	expect_built "$name-template"
	start_target "${name}_template" "$WORK/deployed/cxxdemo"
	pidvar=PID_${name}_template
	expect_eq "$(ask "${name}_template" 'scaled 4')" "scaled 4 = 12" "$name: template before apply"
	expect_code 0 sut apply "$WORK/$name-template.suture" --pid "${!pidvar}"
	expect_eq "$(ask "${name}_template" 'scaled 4')" "scaled 4 = 13" "$name: template after apply"
	alive "${!pidvar}" || fail "$name: template target died"

	build_fix "$name-throw" cxxdemo "$throw_fix"
	expect_built "$name-throw"
	start_target "${name}_throw" "$WORK/deployed/cxxdemo"
	pidvar=PID_${name}_throw
	expect_eq "$(ask "${name}_throw" 'checked -5')" "checked -5 = 25" "$name: throw before apply"
	expect_code 0 sut apply "$WORK/$name-throw.suture" --pid "${!pidvar}"
	expect_eq "$(ask "${name}_throw" 'checked -5')" "caught $message" \
		"$name: exception from the replaced function"
	expect_eq "$(ask "${name}_throw" 'checked 5')" "checked 5 = 25" "$name: no exception"
	alive "${!pidvar}" || fail "$name: throw target died"
}

check_cxx gxx g++ cxx-throw "negative width -5"
command -v clang++ >/dev/null || fail "clang++ is not installed; the README's install line includes clang"
# NOTE: with clang++ -O2, cxx-throw makes the C++ personality routine call
# std::terminate in the patched frame, as if its LSDA had no call-site entry
# for the throw.  Its replacement also brings two COMDAT template functions
# that the target lacks (std::to_string, std::operator+) with their own
# unwind entries.  A clang++ replacement whose cleanup runs a destructor of
# its own file unwinds correctly, and so do g++ builds of cxx-throw.
check_cxx clangxx clang++ cxx-throw-plain "negative width"

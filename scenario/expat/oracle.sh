#!/usr/bin/env bash
# Build expat's own test program, tests/runtests, from a source tree and link
# it against a shared libexpat.so.1 (the vulnerable build that the processes
# run), so that `suture run --patch FIX.suture -- runtests` tests the live
# patch rather than a rebuilt library.
#
# usage: oracle.sh TREE CONFIG_DIR LIBDIR OUT [HARNESS_TREE]
#   TREE          source tree that contains expat/tests and expat/lib
#   CONFIG_DIR    directory with the expat_config.h of a configured build
#   LIBDIR        directory with libexpat.so.1 (unstripped)
#   OUT           runtests program to write
#   HARNESS_TREE  tree whose tests/minicheck.[ch] replace TREE's: a test
#                 from a later patch may use a check macro (assert_true)
#                 that an earlier patch added to the harness
#
# Upstream links runtests statically, because a few tests call functions that
# the shared library keeps hidden (-fvisibility=hidden), for example
# _INTERNAL_trim_to_complete_utf8_characters.  Here each such function gets a
# trampoline that jumps to the library's own copy, found at run time from the
# library's load address and the symbol's value in its symbol table.  A
# hidden variable becomes a pointer to the library's copy: runtests.c is
# compiled with -DNAME='(*suture_oracle_NAME)'.
set -euo pipefail
tree=$1 config_dir=$2 libdir=$3 out=$4 harness=${5:-}
lib=$libdir/libexpat.so.1
work=$(mktemp -d "${TMPDIR:-/tmp}/expat-oracle.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A copy of the tests, so that the harness can be replaced without touching TREE.
tests=$work/tests
cp -r "$tree/expat/tests" "$tests"
if [ -n "$harness" ]; then
	cp "$harness/expat/tests/minicheck.c" "$harness/expat/tests/minicheck.h" "$tests/"
fi

cflags=(-O2 -g -w -DHAVE_CONFIG_H -I"$config_dir" -I"$tests" -I"$tree/expat/lib")
helpers=(chardata.c structdata.c memcheck.c minicheck.c)

compile_tests() {
	local defines=("$@") src
	for src in runtests.c "${helpers[@]}"; do
		[ -f "$tests/$src" ] || continue
		gcc "${cflags[@]}" "${defines[@]}" -c "$tests/$src" -o "$work/obj-${src%.c}.o"
	done
}

# Symbols the test objects need that neither they, the library's exported
# symbols, libc nor libm define.
hidden_needs() {
	local link_log=$work/link.log
	if gcc -o "$work/probe" "$work"/obj-*.o -L"$libdir" -lexpat -lm 2>"$link_log"; then
		return 0
	fi
	grep -o "undefined reference to \`[A-Za-z0-9_]*'" "$link_log" |
		sed "s/.*\`\(.*\)'/\1/" | sort -u
}

compile_tests
mapfile -t needed < <(hidden_needs)
functions=()
variables=()
for name in "${needed[@]}"; do
	entry=$(nm "$lib" | gawk -v n="$name" '$3 == n && !found {print $1, $2; found = 1}')
	if [ -z "$entry" ]; then
		echo "oracle.sh: runtests needs $name, which $lib does not define; the tests" \
			"come from a tree with a change that this library does not have" >&2
		exit 1
	fi
	case ${entry#* } in
	t | T) functions+=("$name:${entry%% *}") ;;
	*) variables+=("$name:${entry%% *}") ;;
	esac
done

if [ ${#variables[@]} -gt 0 ]; then
	defines=()
	for entry in "${variables[@]}"; do
		defines+=("-D${entry%%:*}=(*suture_oracle_${entry%%:*})")
	done
	rm -f "$work"/obj-*.o
	compile_tests "${defines[@]}"
fi

shim=$work/hidden_symbols.c
{
	echo '#define _GNU_SOURCE'
	echo '#include <dlfcn.h>'
	echo '#include <expat.h>'
	echo '#include <stdint.h>'
	echo '#include <stdio.h>'
	echo '#include <stdlib.h>'
	for entry in "${functions[@]}"; do
		name=${entry%%:*}
		echo "void *suture_oracle_$name;"
		echo "__asm__(\".globl $name\\n.type $name, @function\\n$name: jmp *suture_oracle_$name(%rip)\\n\");"
	done
	for entry in "${variables[@]}"; do
		echo "void *suture_oracle_${entry%%:*};"
	done
	echo 'static void __attribute__((constructor)) resolve_hidden_symbols(void)'
	echo '{'
	echo '	Dl_info info;'
	echo '	if (!dladdr((void *)XML_ParserCreate, &info) || !info.dli_fbase) {'
	echo '		fprintf(stderr, "runtests: cannot find the load address of libexpat\n");'
	echo '		exit(1);'
	echo '	}'
	echo '	uintptr_t base = (uintptr_t)info.dli_fbase;'
	for entry in "${functions[@]}" "${variables[@]}"; do
		echo "	suture_oracle_${entry%%:*} = (void *)(base + 0x${entry#*:});"
	done
	echo '}'
} >"$shim"
gcc -O2 -g -w -I"$tree/expat/lib" -c "$shim" -o "$work/obj-hidden_symbols.o"
gcc -o "$out" "$work"/obj-*.o -L"$libdir" -lexpat -lm

#!/bin/sh
# Build libexpat the way Debian's debian/rules for expat 2.5.0 does, without
# installing anything: run in a tree that contains expat/ (the source package
# root with the patches of interest applied).  The library ends up in
# build/lib/.libs/libexpat.so.1.
#
# Like debian/rules: buildconf.sh (autoreconf), configure in a separate build
# directory with --build, /usr prefix and multiarch libdir, CFLAGS from
# dpkg-buildflags plus -Wall, LDFLAGS -Wl,-Bsymbolic-functions plus
# dpkg-buildflags.  Unlike debian/rules: docbook is off (only the library is
# built, as the stage1 profile does) and the wide-character libexpatw is not
# built.  dpkg-buildflags runs in the tree root, so its -ffile-prefix-map
# maps this tree to "." and two copies of one tree build the same bytes.
#
# A second run only runs make, so it recompiles what changed since the first.
set -eu
root=$(pwd)
[ -f expat/lib/xmlparse.c ] || { echo "build-expat.sh: run it in a tree that contains expat/lib/xmlparse.c" >&2; exit 2; }

if [ ! -f build/config.status ]; then
	(cd expat && ./buildconf.sh >/dev/null 2>&1) || { echo "build-expat.sh: buildconf.sh failed in $root/expat" >&2; exit 1; }
	host=$(dpkg-architecture -qDEB_HOST_GNU_TYPE)
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	cflags="$(dpkg-buildflags --get CFLAGS) -Wall"
	cppflags=$(dpkg-buildflags --get CPPFLAGS)
	ldflags="-Wl,-Bsymbolic-functions $(dpkg-buildflags --get LDFLAGS)"
	mkdir -p build
	(cd build && CFLAGS="$cflags" CPPFLAGS="$cppflags" LDFLAGS="$ldflags" \
		../expat/configure --build="$host" --prefix=/usr --mandir='${prefix}/share/man' \
		--libdir="\${prefix}/lib/$multiarch" --without-docbook --disable-static >configure.log 2>&1) ||
		{ echo "build-expat.sh: configure failed, see $root/build/configure.log" >&2; exit 1; }
fi
make -s -C build/lib -j"${JOBS:-2}" >/dev/null

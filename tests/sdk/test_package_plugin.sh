#!/usr/bin/env bash
# test_package_plugin.sh BUILD_DIR: sluice_package_plugin() of the
# installed CMake package, as any user can try it (tests/package installs
# the packages, as root). Installs the build into a temporary prefix;
# builds the jsonl_sink example's Debian package against it and checks
# what the package holds (the plugin in the prefix's plugin directory,
# README and copyright under share/doc/PACKAGE) and what it depends on
# (sluice >= the first release of the ABI); then that every mistake in a
# call is refused at configure time with a message naming it, and that a
# LICENSE_FILE's text becomes the copyright file's License field.
set -u
build=$1
command -v dpkg-deb > /dev/null || { echo "SKIP: dpkg-deb is missing: the packages are Debian's"; exit 77; }
. "$(dirname "$0")/../lib.sh"
die() { fail "$*"; finish package_plugin; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" 2>&1 || die "cmake --install: $(cat "$tmp/install.log")"
plugin_dir=$(dirname "$(find "$prefix" -path '*/sluice/plugins/retention.so')")
examples=$prefix/share/doc/sluice/sdk/examples
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name sluice-plugin.pc)")
abi_since=$(pkg-config --variable=abi_since sluice-plugin)
[ -n "$abi_since" ] || fail "sluice-plugin.pc has no abi_since"
configure() { cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF; }

# ---- the example's package ----
b=$tmp/jsonl_sink
configure "$examples/jsonl_sink" "$b" > "$tmp/ex.log" 2>&1 && cmake --build "$b" >> "$tmp/ex.log" 2>&1 &&
  (cd "$b" && cpack) >> "$tmp/ex.log" 2>&1 || die "jsonl_sink's package: $(tail -20 "$tmp/ex.log")"
deb=$(ls "$b"/sluice-plugin-jsonl-sink_1.0.0_*.deb) || die "no sluice-plugin-jsonl-sink_1.0.0_*.deb: $(ls "$b")"
files=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\.||' | grep -v '/$' | sort)
want=$(printf '%s\n' "$plugin_dir/jsonl_sink.so" "$prefix/share/doc/sluice-plugin-jsonl-sink/README.md" \
  "$prefix/share/doc/sluice-plugin-jsonl-sink/copyright" | sort)
[ "$files" = "$want" ] || fail "the package holds: $files; not: $want"
depends=$(dpkg-deb -f "$deb" Depends)
grep -qF "sluice (>= $abi_since)" <<< "$depends" || fail "Depends: $depends (no sluice >= $abi_since)"
grep -q "libc6" <<< "$depends" || fail "Depends: $depends (dpkg-shlibdeps found no libc6)"
[ "$(dpkg-deb -f "$deb" Maintainer)" = "the sluice authors <sluice@example.org>" ] ||
  fail "Maintainer: $(dpkg-deb -f "$deb" Maintainer)"
dpkg-deb -f "$deb" Description | grep -q "A sluice sink of JSON-lines files" ||
  fail "Description: $(dpkg-deb -f "$deb" Description)"
copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$prefix/share/doc/sluice-plugin-jsonl-sink/copyright")
grep -q "^Copyright: the sluice authors$" <<< "$copyright" || fail "copyright: $copyright"
grep -q "^License: Apache-2.0$" <<< "$copyright" || fail "copyright: $copyright"
if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
  grep -q "^ /usr/share/common-licenses/Apache-2.0.$" <<< "$copyright" || fail "copyright: $copyright"
fi

# ---- a call's mistakes, each refused when configuring ----
cp "$examples/count_source/count_source.c" "$tmp/p.c"
# refused BODY MESSAGE: a project whose CMakeLists.txt ends with BODY
# does not configure, and says MESSAGE
refused() {
  local d=$tmp/case$((++cases))
  mkdir "$d"; cp "$tmp/p.c" "$d/p.c"
  printf 'cmake_minimum_required(VERSION 3.18)\nproject(p VERSION 1.0 LANGUAGES C)\nfind_package(SluicePlugin REQUIRED)\n%s\n' \
    "$1" > "$d/CMakeLists.txt"
  out=$(configure "$d" "$d/build" 2>&1) && { fail "configured: $1"; return; }
  grep -qF -- "$2" <<< "$(tr -s ' \n' ' ' <<< "$out")" || fail "'$1' is refused without '$2': $out"
}
cases=0
ok_args='LICENSE_NAME MIT MAINTAINER "A B <a@b.example>"'
refused "sluice_package_plugin($ok_args)" "sluice_package_plugin: name the plugins to package"
refused "sluice_package_plugin(nothing $ok_args)" "sluice_package_plugin(nothing): nothing is not a target"
refused "add_library(p MODULE p.c)
sluice_package_plugin(p $ok_args)" "sluice_package_plugin(p): p was not made by sluice_add_plugin()"
refused "sluice_add_plugin(p SOURCES p.c NO_INSTALL)
sluice_package_plugin(p $ok_args)" "sluice_package_plugin(p): p is not installed (NO_INSTALL)"
refused "sluice_add_plugin(p SOURCES p.c INSTALL_DIR lib/elsewhere)
sluice_package_plugin(p $ok_args)" "p installs into $prefix/lib/elsewhere, and the sluice found"
refused "sluice_add_plugin(p SOURCES p.c)
sluice_package_plugin(p PACKAGE my_plugin $ok_args)" "'my_plugin' is not a Debian package name"
refused "sluice_add_plugin(p SOURCES p.c)
sluice_package_plugin(p LICENSE_NAME MIT)" "MAINTAINER must be 'Name <address>'"
refused "sluice_add_plugin(p SOURCES p.c)
sluice_package_plugin(p MAINTAINER \"A B <a@b.example>\")" "LICENSE_NAME is required"
refused "sluice_add_plugin(p SOURCES p.c)
sluice_add_plugin(q SOURCES p.c)
sluice_package_plugin(p $ok_args)
sluice_package_plugin(q $ok_args)" "a project makes one package, and sluice_package_plugin(p) made it"
refused "sluice_add_plugin(p SOURCES p.c)
sluice_package_plugin(p VERSION x1 $ok_args)" "not a Debian one: 'x1'"

# ---- a LICENSE_FILE's text as the copyright file's field ----
d=$tmp/license
mkdir "$d"; cp "$tmp/p.c" "$d/p.c"
printf 'Copyright 2024 A B\n\nPermission is granted.  \n\n\nNo warranty.\n\n' > "$d/LICENSE"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(p VERSION 1.0 LANGUAGES C)\nfind_package(SluicePlugin REQUIRED)\nsluice_add_plugin(p SOURCES p.c)\nsluice_package_plugin(p LICENSE_NAME MIT LICENSE_FILE LICENSE %s)\n' \
  'MAINTAINER "A B <a@b.example>"' > "$d/CMakeLists.txt"
out=$(configure "$d" "$d/build" 2>&1) || fail "LICENSE_FILE: $out"
want=$(printf '%s\n' "License: MIT" " Copyright 2024 A B" " ." " Permission is granted." " ." " ." " No warranty.")
got=$(sed -n '/^License:/,$p' "$d/build/sluice-package-doc/copyright")
[ "$got" = "$want" ] || fail "the copyright file's License field is: $got"
finish package_plugin

#!/usr/bin/env bash
# test_install.sh BUILD_DIR: installs the build into a temporary prefix and
# checks what lands where, and that the installed program finds the
# shipped plugins without SLUICE_PLUGIN_PATH.
set -u
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
[ -x "$prefix/bin/sluice" ] || fail "no bin/sluice"
[ -f "$prefix/include/sluice/sluice.h" ] || fail "no include/sluice/sluice.h"
plugins=$(find "$prefix" -path '*/sluice/plugins/*.so' | sort)
for p in source_mongo sink_clickhouse retention; do
  grep -q "/$p.so" <<<"$plugins" || fail "$p.so not installed (got: $plugins)"
done
grep -q "memory.so\|good_sink.so" <<<"$plugins" && fail "test plugins were installed"
# the man pages written at build time, and the bash completion
for f in share/man/man1/sluice.1 share/man/man5/sluice.ini.5 \
         share/bash-completion/completions/sluice; do
  [ -s "$prefix/$f" ] || fail "no $f"
done
out=$(cd / && env -u SLUICE_PLUGIN_PATH "$prefix/bin/sluice" plugins list 2>&1) ||
  fail "installed plugins list failed: $out"
for p in source_mongo sink_clickhouse retention; do
  grep -q "^$p .* $prefix/[^ ]*/$p.so$" <<<"$out" || fail "installed sluice does not find $p: $out"
done
# the directory as its real path, not relative to the program's
grep -q "/\.\./" <<<"$out" && fail "plugins list shows a path with /../: $out"
# the versions of the top CMakeLists.txt, everywhere the same
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
abi=$(sed -n 's/^#define SLUICE_ABI_\(MAJOR\|MINOR\) \([0-9]*\)$/\2/p' "$prefix/include/sluice/version.h" | paste -sd.)
[ "$("$prefix/bin/sluice" --version)" = "sluice $version (plugin ABI $abi)" ] ||
  fail "sluice --version says '$("$prefix/bin/sluice" --version)', not 'sluice $version (plugin ABI $abi)'"
grep -qx "Version: $version" "$(find "$prefix" -name sluice-plugin.pc)" || fail "sluice-plugin.pc has another version"
grep -q "PACKAGE_VERSION \"$version\"" "$(find "$prefix" -name SluicePluginConfigVersion.cmake)" ||
  fail "the CMake package has another version"
# a plugin compiled against the installed headers alone
cc -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
   -I"$prefix/include" -o "$prefix/probe.so" -x c - <<'C' || fail "SDK headers do not compile alone"
#include <sluice/sluice.h>
static sluice_status init(sluice_registrar *r, const sluice_host_api *h, sluice_error *e)
{ (void)r; (void)h; (void)e; return SLUICE_OK; }
SLUICE_MODULE("probe", "1.0.0", "MIT", "probe", init, NULL)
C
nm -D --defined-only "$prefix/probe.so" | grep -q " T sluice_module_descriptor$" ||
  fail "descriptor not exported"
echo "install ok"

#!/usr/bin/env bash
# test_package.sh SOURCE_DIR WORK_DIR: the Debian packages on this machine,
# as an operator and a plugin author use them. Builds `sluice` and
# `sluice-dev` with CPack (in WORK_DIR/build, configured for /usr),
# installs them with dpkg -i, runs `sluice --version`, `sluice plugins
# list` and `sluice check` as installed; builds the example plugins
# against sluice-dev alone (no source tree) and the packages of
# jsonl_source and jsonl_sink with sluice_package_plugin(), installs them,
# sees them in `sluice plugins list`, passes `sluice plugin test`; runs the
# JSON-lines pipeline as the service does (with systemd: systemctl start;
# without it, the unit's ExecStart as its user) and checks the copy;
# reinstalls the package as an upgrade does; removes the plugin packages,
# then sluice-dev and sluice with dpkg -r, and checks that nothing but
# the conffile and the state is left behind; purges, and checks that /usr
# is as it was.
#
# Needs root and dpkg, else it is skipped (exit 77). It skips too when a
# sluice package, /etc/sluice or /var/lib/sluice is already on the
# machine: it never touches an installation it did not make. Whatever
# happens, it purges what it installed, and removes the user sluice when
# it was the one to make it.
set -u
src=$1 work=$2
skip() { echo "SKIP: $*"; exit 77; }
command -v dpkg > /dev/null || skip "dpkg is missing: the packages are Debian's"
[ "$(id -u)" = 0 ] || skip "installing packages needs root; run as root (.ci/run does)"
. "$(dirname "$0")/../lib.sh"
die() { fail "$*"; finish package; }
for tool in cpack dpkg-deb dpkg-shlibdeps file adduser setpriv pkg-config; do
  command -v $tool > /dev/null || die "$tool is missing (bash .ci/install-deps --test installs it)"
done

# one run at a time on a machine
exec 9> /run/lock/sluice-package-test.lock
flock -w 1200 9 || die "another run of this test holds /run/lock/sluice-package-test.lock"

packages="sluice-plugin-jsonl-sink sluice-plugin-jsonl-source sluice-dev sluice"
for p in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2> /dev/null)
  case $status in
    "" | "unknown ok not-installed" | "deinstall ok not-installed") ;;
    *) skip "the package $p is on this machine ($status); this test leaves it alone (dpkg --purge $p to run it)" ;;
  esac
done
for d in /etc/sluice /var/lib/sluice; do
  [ -e $d ] && skip "$d exists; this test leaves it alone"
done
user_before=$(getent passwd sluice)
group_before=$(getent group sluice)

# what is on the machine, to compare with after removal: /usr, /etc and
# /var/lib but dpkg's database and the test servers' data
snapshot() {
  find /usr /etc /var/lib -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \
    -o -path /var/lib/clickhouse -o -path /var/lib/postgresql -o -name __pycache__ \) \
    -prune -o -print | sort
}
snapshot > "$tmp/before"

run_pid=""
cleanup() {
  [ -n "$run_pid" ] && kill -9 "$run_pid" 2> /dev/null
  for p in $packages; do
    if [ -n "$(dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -v not-installed)" ]; then
      echo "cleanup: dpkg --purge $p"
      dpkg --purge "$p" > /dev/null 2>&1 || echo "cleanup: dpkg --purge $p failed"
    fi
  done
  if [ -z "$user_before" ] && getent passwd sluice > /dev/null; then
    echo "cleanup: the user sluice made by the package"
    userdel sluice 2> /dev/null
  fi
  if [ -z "$group_before" ] && getent group sluice > /dev/null; then groupdel sluice 2> /dev/null; fi
  rm -rf /etc/sluice /var/lib/sluice
  at_exit
}
trap cleanup EXIT
started=$SECONDS

# ---- build both packages ----
build=$work/build
rm -f "$build"/*.deb
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSLUICE_TESTS=OFF > "$tmp/build.log" 2>&1 &&
  cmake --build "$build" -j 2 >> "$tmp/build.log" 2>&1 &&
  (cd "$build" && cpack) >> "$tmp/build.log" 2>&1 || die "the packages do not build: $(tail -30 "$tmp/build.log")"
deb=$(ls "$build"/sluice_*.deb) dev_deb=$(ls "$build"/sluice-dev_*.deb) ||
  die "cpack made no sluice_*.deb and sluice-dev_*.deb: $(ls "$build")"
echo "built $(basename "$deb") and $(basename "$dev_deb") in $((SECONDS - started))s"

version=$(dpkg-deb -f "$deb" Version)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2> /dev/null || gcc -print-multiarch)
plugin_dir=/usr/lib/$triplet/sluice/plugins
abi_major=$(sed -n 's/^set(SLUICE_ABI_MAJOR \([0-9]*\))/\1/p' "$src/CMakeLists.txt")
abi_minor=$(sed -n 's/^set(SLUICE_ABI_MINOR \([0-9]*\))/\1/p' "$src/CMakeLists.txt")
abi_since=$(sed -n 's/^set(SLUICE_ABI_SINCE \([0-9.]*\))/\1/p' "$src/CMakeLists.txt")
project_version=$(sed -n 's/^project(sluice VERSION \([0-9.]*\) .*/\1/p' "$src/CMakeLists.txt")
[ "$version" = "$project_version" ] || fail "the package's version $version is not the project's $project_version"
[ "$(dpkg-deb -f "$dev_deb" Version)" = "$version" ] || fail "sluice-dev has another version than sluice"

# what each package holds
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\.||' > "$tmp/sluice.files"
dpkg-deb -c "$dev_deb" | awk '{print $NF}' | sed 's|^\.||' > "$tmp/dev.files"
for f in /usr/bin/sluice $plugin_dir/source_mongo.so $plugin_dir/sink_clickhouse.so \
         $plugin_dir/retention.so /usr/lib/systemd/system/sluice.service /etc/sluice/sluice.ini \
         /usr/share/doc/sluice/copyright /usr/share/doc/sluice/LICENSE \
         /usr/share/doc/sluice/CHANGELOG.md /usr/share/doc/sluice/docs/operations.md; do
  grep -qx "$f" "$tmp/sluice.files" || fail "sluice lacks $f"
done
for f in /usr/include/sluice/sluice.h /usr/include/sluice/version.h \
         /usr/lib/$triplet/pkgconfig/sluice-plugin.pc \
         /usr/lib/$triplet/cmake/SluicePlugin/SluicePluginConfig.cmake \
         /usr/lib/$triplet/cmake/SluicePlugin/SluicePluginPackage.cmake \
         /usr/share/doc/sluice/sdk/examples/jsonl_sink/CMakeLists.txt /usr/share/doc/sluice-dev/copyright; do
  grep -qx "$f" "$tmp/dev.files" || fail "sluice-dev lacks $f"
done
grep -q "include/\|cmake/\|pkgconfig/" "$tmp/sluice.files" && fail "sluice holds SDK files: $(grep "include/\|cmake/\|pkgconfig/" "$tmp/sluice.files")"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/sluice/sluice.ini ] ||
  fail "the conffiles are not /etc/sluice/sluice.ini alone"
dpkg-deb -f "$dev_deb" Depends | grep -qF "sluice (= $version)" || fail "sluice-dev does not depend on sluice $version"
# nothing of the packages is on the machine already: installing them
# overwrites nothing, and removing them takes nothing that was there
for f in $(cat "$tmp/sluice.files" "$tmp/dev.files"); do
  [ -f "$f" ] && skip "$f is on this machine already (not from a package); this test leaves it alone"
done

# ---- install ----
dpkg -i "$deb" "$dev_deb" > "$tmp/dpkg.log" 2>&1 || die "dpkg -i: $(cat "$tmp/dpkg.log")"
dpkg-query -L sluice sluice-dev | sort -u > "$tmp/installed"
sluice() { (cd / && exec env -i PATH=/usr/bin:/bin /usr/bin/sluice "$@"); }
as_sluice() { (cd /var/lib/sluice && exec setpriv --reuid=sluice --regid=sluice --init-groups \
                 env -i PATH=/usr/bin:/bin HOME=/var/lib/sluice "$@"); }

out=$(sluice --version)
[ "$out" = "sluice $version (plugin ABI $abi_major.$abi_minor)" ] ||
  fail "sluice --version says '$out', not 'sluice $version (plugin ABI $abi_major.$abi_minor)'"
out=$(sluice plugins list 2>&1) || fail "sluice plugins list: $out"
for p in source_mongo sink_clickhouse retention; do
  grep -q "^$p .* $plugin_dir/$p.so$" <<< "$out" || fail "the installed sluice does not list $p in $plugin_dir: $out"
done

# the user, the state directory, the config only the service reads
getent passwd sluice | grep -q ":/var/lib/sluice:/usr/sbin/nologin$" ||
  fail "user sluice: $(getent passwd sluice)"
[ "$(stat -c '%U:%G %a' /var/lib/sluice)" = "sluice:sluice 750" ] ||
  fail "/var/lib/sluice is $(stat -c '%U:%G %a' /var/lib/sluice)"
[ "$(stat -c '%U:%G %a' /etc/sluice/sluice.ini)" = "root:sluice 640" ] ||
  fail "/etc/sluice/sluice.ini is $(stat -c '%U:%G %a' /etc/sluice/sluice.ini)"
out=$(as_sluice sluice check /etc/sluice/sluice.ini 2>&1) || fail "the sample config does not check: $out"
# the API's token, made at install: the service's user alone reads it
[ "$(stat -c '%U:%G %a' /etc/sluice/api.token)" = "root:sluice 640" ] ||
  fail "/etc/sluice/api.token is $(stat -c '%U:%G %a' /etc/sluice/api.token)"
grep -qE '^[0-9a-f]{64}$' /etc/sluice/api.token || fail "/etc/sluice/api.token holds no token"
grep -q "^; api_token_file = /etc/sluice/api.token" /etc/sluice/sluice.ini ||
  fail "the sample config does not name the token"
grep -q "^url = sqlite:/var/lib/sluice/" /etc/sluice/sluice.ini || fail "the sample config's store is not under /var/lib/sluice"

# the unit: its ExecStart, user, stop signal; systemd's own check
unit=/usr/lib/systemd/system/sluice.service
unit_value() { sed -n "s/^$1=//p" "$unit"; }
exec_start=$(unit_value ExecStart)
[ "$exec_start" = "/usr/bin/sluice run /etc/sluice/sluice.ini" ] || fail "ExecStart=$exec_start"
[ "$(unit_value User)" = sluice ] || fail "User=$(unit_value User)"
[ "$(unit_value KillSignal)" = SIGTERM ] || fail "KillSignal=$(unit_value KillSignal)"
[ -n "$(unit_value TimeoutStopSec)" ] || fail "no TimeoutStopSec"
[ "$(unit_value Restart)" = on-failure ] || fail "Restart=$(unit_value Restart)"
if command -v systemd-analyze > /dev/null; then
  man=yes
  command -v man > /dev/null || { man=no; echo "man is missing: systemd-analyze verify does not check the unit's man pages"; }
  out=$(systemd-analyze verify --man=$man "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify says: $out"
else
  echo "systemd-analyze is missing: the unit is not verified"
fi
echo "installed and checked in $((SECONDS - started))s"

# ---- plugins built against sluice-dev alone ----
examples=/usr/share/doc/sluice/sdk/examples
# the installed SDK, found with nothing set; the build reads nothing of
# the source tree
plain() { env -i PATH=/usr/bin:/bin HOME="$tmp" "$@"; }
b=$tmp/count_source
plain cmake -S $examples/count_source -B "$b" > "$tmp/count.log" 2>&1 &&
  plain cmake --build "$b" >> "$tmp/count.log" 2>&1 || fail "count_source against sluice-dev: $(tail -20 "$tmp/count.log")"
grep -q "^SluicePlugin_DIR:PATH=/usr/lib/$triplet/cmake/SluicePlugin$" "$b/CMakeCache.txt" ||
  fail "count_source found $(grep SluicePlugin_DIR "$b/CMakeCache.txt")"
grep -rqF -- "$src" "$b" && fail "the count_source build used the source tree"
out=$(cd / && env -i PATH=/usr/bin:/bin SLUICE_PLUGIN_PATH="$b" /usr/bin/sluice plugins list 2>&1)
grep -q "^count_source .*$b/count_source.so" <<< "$out" || fail "count_source built against sluice-dev does not load: $out"
# and with pkg-config
out=$(plain cc $(plain pkg-config --cflags sluice-plugin) -std=c11 -Wall -Werror -shared \
  -Wl,--no-undefined -o "$tmp/count_pc.so" $examples/count_source/count_source.c 2>&1) ||
  fail "count_source with pkg-config: $out"
[ "$(plain pkg-config --variable=pluginsdir sluice-plugin)" = "$plugin_dir" ] ||
  fail "pluginsdir is $(plain pkg-config --variable=pluginsdir sluice-plugin)"

# the packages of jsonl_source and jsonl_sink, by sluice_package_plugin()
for ex in jsonl_source jsonl_sink; do
  b=$tmp/$ex
  plain cmake -S $examples/$ex -B "$b" > "$tmp/$ex.log" 2>&1 && plain cmake --build "$b" >> "$tmp/$ex.log" 2>&1 &&
    (cd "$b" && plain cpack) >> "$tmp/$ex.log" 2>&1 || die "$ex's package: $(tail -20 "$tmp/$ex.log")"
  pkg=sluice-plugin-${ex//_/-}
  pdeb=$(ls "$b"/${pkg}_1.0.0_*.deb) || die "no ${pkg}_1.0.0_*.deb made: $(ls "$b")"
  files=$(dpkg-deb -c "$pdeb" | awk '{print $NF}' | sed 's|^\.||' | grep -v '/$')
  [ "$(sort <<< "$files")" = "$(printf '%s\n' $plugin_dir/$ex.so /usr/share/doc/$pkg/README.md \
    /usr/share/doc/$pkg/copyright | sort)" ] || fail "$pkg holds: $files"
  depends=$(dpkg-deb -f "$pdeb" Depends)
  grep -qF "sluice (>= $abi_since)" <<< "$depends" || fail "$pkg depends on '$depends', not sluice (>= $abi_since)"
  grep -q "^License: Apache-2.0" <(dpkg-deb --fsys-tarfile "$pdeb" | tar -xO ./usr/share/doc/$pkg/copyright) ||
    fail "$pkg's copyright names no license"
  dpkg -i "$pdeb" > "$tmp/dpkg.log" 2>&1 || fail "dpkg -i $pkg: $(cat "$tmp/dpkg.log")"
done
out=$(sluice plugins list 2>&1) || fail "plugins list with the plugin packages: $out"
for ex in jsonl_source jsonl_sink; do
  grep -q "^$ex .*1\.0\.0 .* $plugin_dir/$ex.so$" <<< "$out" || fail "$ex is not listed from $plugin_dir: $out"
done
mkdir -p "$tmp/kit"
cat > "$tmp/kit/jsonl_sink.ini" << INI
[sink jsonl_sink]
directory = $tmp/kit/out
[conformance jsonl_sink]
verify = cat $tmp/kit/out/sluice_conformance.jsonl
INI
out=$(sluice plugin test $plugin_dir/jsonl_sink.so --config "$tmp/kit/jsonl_sink.ini" 2>&1) ||
  fail "sluice plugin test jsonl_sink: $(grep -v ^PASS <<< "$out")"
grep -q ", 0 failed, 0 skipped$" <<< "$out" || fail "the kit on jsonl_sink: $(tail -3 <<< "$out")"
echo "plugins built and packaged against sluice-dev in $((SECONDS - started))s"

# ---- the JSON-lines pipeline, run as the service runs ----
# the sample first (no pipe): it starts, makes its store, stops on SIGTERM
systemd=no
[ -d /run/systemd/system ] && systemd=yes
service_start() {
  if [ $systemd = yes ]; then
    systemctl start sluice.service || fail "systemctl start sluice: $(journalctl -u sluice -n 20)"
  else
    # the unit's ExecStart as its user, with what the unit sets that
    # setpriv can: no new privileges, no capabilities, its umask
    (cd "$(unit_value WorkingDirectory)" && umask "$(unit_value UMask)" &&
      exec setpriv --reuid="$(unit_value User)" --regid="$(unit_value Group)" --init-groups \
        --no-new-privs --inh-caps=-all --bounding-set=-all \
        env -i PATH=/usr/bin:/bin HOME=/var/lib/sluice $exec_start) >> "$tmp/service.log" 2>&1 &
    run_pid=$!
  fi
}
service_stop() {
  if [ $systemd = yes ]; then
    systemctl stop sluice.service
    [ "$(systemctl show -p Result --value sluice.service)" = success ] ||
      fail "the service stopped with $(systemctl show -p Result --value sluice.service)"
  else
    kill -TERM "$run_pid"
    wait "$run_pid"; local status=$?
    run_pid=""
    [ $status = 0 ] || fail "ExecStart ended with status $status on SIGTERM: $(tail -5 "$tmp/service.log")"
  fi
}
[ $systemd = no ] && echo "systemd does not run here: the unit's ExecStart runs as user $(unit_value User) instead of systemctl start"
service_start
wait_for "the sample config's store" 20 test -s /var/lib/sluice/sluice.db
# (SIGTERM once it runs: before, the signal's default action ends it)
[ $systemd = yes ] || wait_for "the service running" 20 grep -q "running 0 pipe" "$tmp/service.log"
service_stop
[ "$(stat -c %U /var/lib/sluice/sluice.db)" = sluice ] || fail "the store is owned by $(stat -c %U /var/lib/sluice/sluice.db)"

# the pipeline: an operator's config in place of the sample
install -d -o sluice -g sluice /var/lib/sluice/in
printf '{"_id":%d,"item":"thing %d"}\n' 1 1 2 2 3 3 > /var/lib/sluice/in/orders.jsonl
printf '{"page":"/%d"}\n' 1 2 > /var/lib/sluice/in/clicks.jsonl
chown sluice: /var/lib/sluice/in/*.jsonl
api_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > /etc/sluice/sluice.ini << INI
[store]
url = sqlite:/var/lib/sluice/sluice.db

[service]
http_listen = 127.0.0.1:$api_port
api_token_file = /etc/sluice/api.token

[pipe files]
source = jsonl_source
sink = jsonl_sink
sync_interval = 1s

[pipe files.source]
directory = /var/lib/sluice/in
poll_interval = 50ms

[pipe files.sink]
directory = /var/lib/sluice/out
INI
out=$(as_sluice sluice check /etc/sluice/sluice.ini 2>&1) || fail "the pipeline's config: $out"
same() { cmp -s /var/lib/sluice/in/orders.jsonl /var/lib/sluice/out/orders.jsonl &&
         cmp -s /var/lib/sluice/in/clicks.jsonl /var/lib/sluice/out/clicks.jsonl; }
service_start
wait_for "the snapshot in /var/lib/sluice/out" 30 same
printf '{"_id":%d,"item":"thing %d"}\n' 4 4 5 5 >> /var/lib/sluice/in/orders.jsonl
wait_for "appended lines in /var/lib/sluice/out" 30 same
state=$(as_sluice sluice status files --config /etc/sluice/sluice.ini --json 2>&1)
grep -q '"state":"running"' <<< "$state" || fail "the pipe is not running: $state"
# the control API of the packaged service, with the token made at install
api=$(curl -s -H "Authorization: Bearer $(cat /etc/sluice/api.token)" "http://127.0.0.1:$api_port/v1/pipes/files")
grep -q '"state":"running"' <<< "$api" || fail "the API's status of the pipe: $api"
service_stop
[ "$(stat -c %U /var/lib/sluice/out/orders.jsonl)" = sluice ] || fail "the output is not the service user's"

# ---- an upgrade: the same package again (postinst configure OLD) ----
[ $systemd = yes ] && service_start && pid_before=$(systemctl show -p MainPID --value sluice.service)
dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1 || fail "dpkg -i over the installed package: $(cat "$tmp/dpkg.log")"
grep -q "^\[pipe files\]" /etc/sluice/sluice.ini || fail "the upgrade replaced the operator's config"
[ "$(stat -c '%U:%G %a' /etc/sluice/sluice.ini)" = "root:sluice 640" ] ||
  fail "after the upgrade /etc/sluice/sluice.ini is $(stat -c '%U:%G %a' /etc/sluice/sluice.ini)"
if [ $systemd = yes ]; then
  [ "$(systemctl show -p MainPID --value sluice.service)" != "$pid_before" ] ||
    fail "the upgrade did not restart the running service"
  service_stop
else
  echo "systemd does not run here: the restart of a running service on upgrade is not checked"
fi
echo "service run and upgrade in $((SECONDS - started))s"

# ---- removal ----
for ex in jsonl_source jsonl_sink; do
  pkg=sluice-plugin-${ex//_/-}
  dpkg -r $pkg > "$tmp/dpkg.log" 2>&1 || fail "dpkg -r $pkg: $(cat "$tmp/dpkg.log")"
  [ -e $plugin_dir/$ex.so ] && fail "dpkg -r $pkg left $plugin_dir/$ex.so"
  [ -e /usr/share/doc/$pkg ] && fail "dpkg -r $pkg left /usr/share/doc/$pkg"
done
out=$(sluice plugins list 2>&1)
grep -q "^jsonl_" <<< "$out" && fail "removed plugins still listed: $out"

dpkg -r sluice-dev sluice > "$tmp/dpkg.log" 2>&1 || fail "dpkg -r: $(cat "$tmp/dpkg.log")"
while read -r f; do
  [ "$f" = /etc/sluice/sluice.ini ] && continue
  [ -e "$f" ] && [ ! -d "$f" ] && fail "dpkg -r left $f"
done < "$tmp/installed"
[ -f /etc/sluice/sluice.ini ] || fail "dpkg -r removed the conffile"
[ -f /var/lib/sluice/sluice.db ] || fail "dpkg -r removed the state"
[ -f /etc/sluice/api.token ] || fail "dpkg -r removed the API's token (kept, as the config is)"
snapshot > "$tmp/removed"
left=$(comm -13 "$tmp/before" "$tmp/removed" | grep -v -e '^/etc/sluice\(/sluice.ini\|/api.token\)\?$' -e '^/var/lib/sluice\(/.*\)\?$' \
  -e '^/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-\?$')
[ -z "$left" ] || fail "dpkg -r left, besides the conffile, the token and the state: $left"

# purged, the machine's /usr is as it was
dpkg --purge sluice sluice-dev > "$tmp/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$tmp/dpkg.log")"
[ -e /etc/sluice ] && fail "dpkg --purge left /etc/sluice: $(ls -la /etc/sluice)"
[ -e /var/lib/sluice ] && fail "dpkg --purge left /var/lib/sluice"
dpkg-statoverride --list /etc/sluice/sluice.ini > /dev/null && fail "dpkg --purge left the statoverride"
snapshot > "$tmp/purged"
usr_diff=$(diff <(grep '^/usr' "$tmp/before") <(grep '^/usr' "$tmp/purged"))
[ -z "$usr_diff" ] || fail "after purging, /usr differs: $usr_diff"
echo "removed and purged in $((SECONDS - started))s"
finish package

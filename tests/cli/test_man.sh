#!/usr/bin/env bash
# test_man.sh SLUICE BUILD_DIR SOURCE_DIR: the man pages written at build
# time (build/man) are what this sluice writes of itself, and they name
# every command, every option of every command, every section and option
# of the config file (the framework's and the shipped plugins'), and every
# SLUICE_* environment variable the framework reads. groff renders them
# without a warning.
set -u
sluice=$1 build=$2 src=$3
man1=$build/man/sluice.1 man5=$build/man/sluice.ini.5
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# roff TEXT: TEXT as the pages write it ('-' as '\-')
roff() { sed 's/-/\\-/g' <<<"$1"; }

[ -s "$man1" ] && [ -s "$man5" ] || { echo "FAIL: no $man1 or $man5"; exit 1; }
shipped="source_mongo sink_clickhouse retention"
"$sluice" help --man 1 > "$tmp/sluice.1" 2>/dev/null || fail "sluice help --man 1"
"$sluice" help --man 5 $shipped > "$tmp/sluice.ini.5" 2>/dev/null || fail "sluice help --man 5"
cmp -s "$man1" "$tmp/sluice.1" || fail "$man1 is not what this sluice writes"
cmp -s "$man5" "$tmp/sluice.ini.5" || fail "$man5 is not what this sluice writes"
"$sluice" help --man 5 nosuch > /dev/null 2>&1; [ $? = 2 ] || fail "help --man 5 nosuch: not exit status 2"

# every command, and every option it takes
commands=$("$sluice" help | sed -n 's/^  \([a-z][a-z ]*[a-z]\)  .*/\1/p')
[ -n "$commands" ] || fail "no commands listed"
while IFS= read -r c; do
  grep -qxF ".SS \"$c\"" "$man1" || fail "command '$c' not in sluice.1"
  for f in $("$sluice" $c --completion-helper 2>/dev/null | sed 's/=$//'); do
    grep -qF -- "\\fB$(roff "$f")" "$man1" || grep -qF -- "$(roff "$f")" "$man1" ||
      fail "option $f of '$c' not in sluice.1"
  done
done <<<"$commands"
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS '"EXIT STATUS"' ENVIRONMENT FILES '"SEE ALSO"'; do
  grep -qx ".SH $section" "$man1" || fail "sluice.1 has no section $section"
done
for v in $(grep -rhoE '"SLUICE_[A-Z_]+"' "$src/framework" --include=*.c | tr -d '"' | sort -u); do
  grep -qxF ".B $(roff "$v")" "$man1" || fail "environment variable $v not in sluice.1"
done

# every section and option of the file: the framework's ...
printf '[pipe p]\nsource = memory_source\nsink = memory_sink\n' > "$tmp/c.ini"
"$sluice" check "$tmp/c.ini" --print > "$tmp/print" 2>/dev/null || fail "check --print"
sed '/^\[pipe p\.\(source\|sink\)\]/,/^$/d' "$tmp/print" > "$tmp/framework"
for s in $(sed -n 's/^\[\([a-z]*\).*/\1/p' "$tmp/framework" | sort -u); do
  grep -qE "^\.SS \"\[$s( NAME)?\]\"$" "$man5" || fail "section [$s] not in sluice.ini.5"
done
for k in $(sed -n -e 's/^\([a-z_]*\) = .*/\1/p' -e 's/^; \([a-z_]*\) is not set/\1/p' "$tmp/framework"); do
  grep -qxF ".B $(roff "$k")" "$man5" || fail "option '$k' not in sluice.ini.5"
done
# ... and the shipped plugins'
for p in $shipped; do
  grep -qF ".SS \"$p, in [" "$man5" || fail "plugin $p not in sluice.ini.5"
  for k in $("$sluice" plugins describe "$p" --json 2>/dev/null |
             python3 -c 'import json,sys; print("\n".join(o["name"] for o in json.load(sys.stdin)["options"]))'); do
    grep -qxF ".B $(roff "$k")" "$man5" || fail "option '$k' of $p not in sluice.ini.5"
  done
done

# rendered without a warning
if command -v groff > /dev/null; then
  for page in "$man1" "$man5"; do
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] || fail "groff warns about $(basename "$page"): $warnings"
    text=$(groff -man -Tascii -P-c -P-b -P-u "$page" 2>/dev/null)
    grep -q "sluice" <<<"$text" || fail "groff renders nothing of $(basename "$page")"
  done
  if command -v man > /dev/null; then
    warnings=$(MANWIDTH=80 man --warnings -l "$man1" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "man -l warns about sluice.1: $warnings"
  fi
else
  echo "note: groff is not installed (.ci/install-deps --test installs it); rendering not checked"
fi

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "man pages current and complete"

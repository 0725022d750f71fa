#!/usr/bin/env bash
# test_format.sh SOURCE_DIR: every C file of sluice is as clang-format 14
# writes it with the repository's .clang-format (the frozen headers of
# older ABIs aside). `clang-format -i FILE` fixes one.
set -u
src=$1
version=$(clang-format --version 2>/dev/null) || { echo "FAIL: clang-format is not installed (Debian: clang-format)"; exit 1; }
case $version in
  *" version 14."*) ;;
  *) echo "FAIL: the style is clang-format 14's; this is: $version"; exit 1 ;;
esac
cd "$src"
files=$(find framework plugins sdk tests bench -name '*.[ch]' -not -path 'tests/abi/sdk-1.*' | sort)
[ -n "$files" ] || { echo "FAIL: no C files under $src"; exit 1; }
# shellcheck disable=SC2086
if ! out=$(clang-format --dry-run --Werror $files 2>&1); then
  echo "$out" | head -40
  echo "FAIL: $(grep -c 'error:' <<<"$out") line(s) not in the style; run: clang-format -i FILE"
  exit 1
fi
echo "PASS: $(wc -l <<<"$files") files in the style"

#!/usr/bin/env bash
# run_case.sh SLUICE CASE.ini: runs `sluice check CASE.ini` and compares
# with the expectations written in the case's own comments:
#   ; expect-exit: N           the exit status (default 2)
#   ; expect: TEXT             TEXT appears in the output ({file} is the
#                              path, {dir} its directory)
#   ; expect-not: TEXT         TEXT does not appear (secrets)
#   ; args: ARGS               extra arguments after the file
#   ; env: NAME=VALUE          set in the environment of the run ({dir}
#                              as above)
set -u
sluice=$1 case=$2
vars=()
while IFS= read -r line; do
  vars+=("${line//\{dir\}/$(dirname "$case")}")
done < <(sed -n 's/^; env: //p' "$case")
out=$(env "${vars[@]}" "$sluice" check "$case" $(sed -n 's/^; args: //p' "$case") 2>&1)
status=$?
fail=0
want_status=$(sed -n 's/^; expect-exit: //p' "$case")
want_status=${want_status:-2}
if [ "$status" != "$want_status" ]; then
  echo "exit status $status, expected $want_status"; fail=1
fi
while IFS= read -r line; do
  text=${line//\{file\}/$case}
  text=${text//\{dir\}/$(dirname "$case")}
  if ! grep -qF -- "$text" <<<"$out"; then echo "missing: $text"; fail=1; fi
done < <(sed -n 's/^; expect: //p' "$case")
while IFS= read -r line; do
  if grep -qF -- "$line" <<<"$out"; then echo "must not appear: $line"; fail=1; fi
done < <(sed -n 's/^; expect-not: //p' "$case")
if [ $fail != 0 ]; then
  echo "--- output of sluice check $case:"; echo "$out"
fi
exit $fail

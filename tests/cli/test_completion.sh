#!/usr/bin/env bash
# test_completion.sh SLUICE HELPER SOURCE_DIR: the bash completion
# (completions/sluice) as bash calls it, through COMP_WORDS and
# COMP_CWORD: commands, the options of each command (every option the
# command takes), and the names of pipes, topics, subscriptions and
# plugins from a store and from a config file.
set -u
sluice=$1 helper=$2 src=$3
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
unset SLUICE_STORE

# shellcheck source=/dev/null
source "$src/completions/sluice"
complete -p sluice | grep -q -- "-F _sluice sluice$" ||
  { echo "FAIL: complete -p sluice: $(complete -p sluice 2>&1)"; exit 1; }

# completes WANT WORD...: completing the last WORD of "sluice WORD..."
# offers exactly WANT (words separated by spaces, in any order)
completes() {
  local want=$1; shift
  COMP_WORDS=("$sluice" "$@"); COMP_CWORD=$(($# ))
  COMPREPLY=()
  _sluice
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | grep -v '^$' | sort | tr '\n' ' ')
  want=$(tr -s ' ' '\n' <<<"$want" | grep -v '^$' | sort | tr '\n' ' ')
  if [ "$got" != "$want" ]; then
    echo "FAIL: 'sluice $*<TAB>' offers '$got', expected '$want'"; failures=$((failures + 1))
  fi
}

cat > c.ini <<'INI'
[store]
url = sqlite:s.db
[topic audit]
[pipe orders]
source = memory_source
sink = memory_sink
[pipe orders.source]
tables = orders, customers
[pipe clicks]
source = memory_source
sink = memory_sink
topic = web
INI
"$sluice" store migrate -c c.ini > /dev/null && "$helper" sqlite:s.db register c.ini > /dev/null 2>&1 &&
  "$sluice" subscription create reader --topic audit -c c.ini > /dev/null ||
  { echo "FAIL: setting up the store"; exit 1; }

# commands, word by word
completes "check events help history maintenance pause pipe plugin plugins resume resync run status store subscription tables topic --help --version" ""
completes "plugin plugins" pl
completes "describe list" plugins ""
completes "consume create describe list publish" topic ""
completes "run resume resync" r
# a command's options: every option it takes, and only those
for c in status "topic list" "plugins describe" run "tables remove"; do
  want=$("$sluice" $c --completion-helper | sed 's/=$//' | tr '\n' ' ')
  completes "$want" $c -
done
completes "--json" status --js
completes "--kit" "plugin" "test" x.so --k
# names of the store, with the -c or --store of the line
completes "clicks orders" status -c c.ini ""
completes "orders" pause --store sqlite : s.db o
completes "clicks orders" history --config c.ini --json ""
completes "audit orders web" topic describe -c c.ini ""
completes "reader" subscription pause -c c.ini r
completes "audit" topic consume -c c.ini aud
completes "clicks orders reader" topic consume -c c.ini audit --subscription ""
completes "" tables add -c c.ini orders cust   # a table: none offered
# names of the config file, where the store has none or for run --pipe
rm s.db
completes "clicks orders" status -c c.ini ""
completes "clicks orders" run c.ini --pipe ""
completes "clicks" run -c c.ini --pipe = cl
completes "audit orders web" events -c c.ini --topic ""
completes "clicks orders" subscription resume -c c.ini ""
# plugins; values of options; files
completes "memory_sink memory_source" plugins describe memory_
completes "debug" status --log-level d
touch a.ini b.so
completes "a.ini c.ini" check ""
completes "b.so" plugin test ""
completes "check events help history maintenance pause pipe plugin plugins resume resync run status store subscription tables topic" help ""
completes "add remove" help tables ""

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "completion checks passed"

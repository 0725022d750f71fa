#!/usr/bin/env bash
# test_cli.sh SLUICE FIXTURE_DIR: the command line as an operator meets it:
# help for every command, version, exit statuses, plugins list and
# describe for every shipped plugin, refused plugin files, and error lines
# masked as the log is.
set -u
sluice=$1 fixtures=$2
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run WANT_STATUS CMD...: runs CMD, keeps its output in $out
run() {
  local want=$1; shift
  out=$("$@" 2>&1); local status=$?
  if [ "$status" != "$want" ]; then
    echo "FAIL: '$*' exited $status, expected $want"; echo "$out" | head -20
    failures=$((failures + 1))
  fi
}
# lacks TEXT: the last output does not contain TEXT
lacks() { if grep -qF -- "$1" <<<"$out"; then echo "FAIL: output shows '$1'"; echo "$out" | head -20; failures=$((failures + 1)); fi; }
# has TEXT: the last output contains TEXT
has() {
  if ! grep -qF -- "$1" <<<"$out"; then
    echo "FAIL: output lacks '$1'"; echo "$out" | head -20
    failures=$((failures + 1))
  fi
}

run 0 "$sluice" --version;           has "sluice 0.1.0 (plugin ABI 1.2)"
run 0 "$sluice" --help;              has "Commands:"; has "plugins describe"
run 2 "$sluice";                     has "Usage: sluice COMMAND"
run 2 "$sluice" frobnicate;          has "unknown command 'frobnicate'"
run 2 "$sluice" plugins;             has "sluice plugins list"
run 2 "$sluice" plugins frob;        has "unknown command 'plugins frob'"
run 0 "$sluice" help;                has "check"
run 2 "$sluice" help nothing;        has "no command 'nothing'"
run 0 "$sluice" help plugins;        has "sluice plugins describe NAME"

# every command has help, both ways, with its exit statuses; the
# overview's table is aligned (every summary starts in one column)
commands=$("$sluice" help | sed -n 's/^  \([a-z][a-z ]*[a-z]\)  .*/\1/p')
[ -n "$commands" ] || { echo "FAIL: no commands listed"; failures=$((failures + 1)); }
run 0 "$sluice" help; has "Exit status: 0 success"
columns=$(sed -nE '/^Commands:/,/^$/s/^(  [a-z]+( [a-z]+)* +)[^ ].*/\1/p' <<<"$out" |
          while IFS= read -r prefix; do echo ${#prefix}; done | sort -u)
[ "$(wc -l <<<"$columns")" = 1 ] || { echo "FAIL: the summaries of 'sluice help' start in columns $columns"; failures=$((failures + 1)); }
while IFS= read -r c; do
  run 0 "$sluice" help $c;  has "Usage: sluice $c"; has "Exit status:"
  run 0 "$sluice" $c --help; has "Usage: sluice $c"
done <<<"$commands"

# one grammar: what each command takes (its hidden --completion-helper,
# read by the bash completion) is what its help says, and the other way
# round; every command that reads a config file takes it as -c or
# --config, and every command of the store takes --store
while IFS= read -r c; do
  run 0 "$sluice" $c --completion-helper; takes=$out
  run 0 "$sluice" help $c; help=$out
  [ "$c" = help ] && continue
  for f in $(sed 's/=$//' <<<"$takes"); do
    case $f in --log-level) continue ;; esac
    grep -qE -- "(^|[ ,])$f([ ,]|$)" <<<"$help" ||
      { echo "FAIL: 'sluice $c' takes $f, which its help does not name"; failures=$((failures + 1)); }
  done
  for f in $(grep -oE -- '(^|[ [,|])--?[a-z][a-z-]*' <<<"$help" | sed 's/^[ [,|]//' | sort -u); do
    case $f in --help|--log-level|--version) continue ;; esac
    grep -qx -- "$f=\?" <<<"$takes" ||
      { echo "FAIL: the help of 'sluice $c' names $f, which it does not take"; failures=$((failures + 1)); }
  done
  case $c in "plugin test") continue ;; esac
  grep -qx -- "-c=" <<<"$takes" && grep -qx -- "--config=" <<<"$takes" ||
    { echo "FAIL: 'sluice $c' does not take -c and --config"; failures=$((failures + 1)); }
  grep -qx -- "--store=" <<<"$takes" || case $c in check|plugins*) ;; *)
    echo "FAIL: 'sluice $c' does not take --store"; failures=$((failures + 1)) ;; esac
done <<<"$commands"

run 2 "$sluice" plugins list --bogus; has "unknown option '--bogus'"
run 2 "$sluice" plugins list --config; has "option '--config' needs a value"
run 2 "$sluice" check;               has "which config file?"
run 2 "$sluice" check -c "$tmp/a.ini" "$tmp/b.ini"; has "the config file is given twice"
run 2 "$sluice" check "$tmp/nope.ini"; has "$tmp/nope.ini: cannot read: No such file or directory"
run 2 "$sluice" check "$tmp";         has "$tmp: cannot read: is a directory"

# the shipped plugins
run 0 "$sluice" plugins list
for pk in "source_mongo source" "sink_clickhouse sink" "retention retention"; do
  has "$(printf '%-20s %-10s' $pk)"
done
for p in source_mongo sink_clickhouse retention; do
  run 0 "$sluice" plugins describe "$p"; has "Options, in"
  run 0 "$sluice" plugins describe "$p" --markdown; has "## $p"
done
run 0 "$sluice" plugins describe source_mongo
has "uri (string, URL: mongodb, mongodb+srv; required)"
has "full_document (enum: updateLookup, whenAvailable, required; default: updateLookup)"
run 0 "$sluice" plugins describe sink_clickhouse --markdown
has "| \`password\` | string | none | The user's password; when not set, the password of the url, else none. Secret: never printed; can be read from a file with NAME_file = PATH. |"
run 2 "$sluice" plugins describe nope;  has "no plugin named 'nope'"

# a refused file on the search path
mkdir "$tmp/bad"
ln -s "$fixtures/bad_magic.so" "$tmp/bad/bad_magic.so"
cp "$fixtures/not_shared_object.so" "$tmp/bad/"
ln -s "$fixtures/huge_config.so" "$tmp/bad/huge_config.so"
SLUICE_PLUGIN_PATH="$tmp/bad:$SLUICE_PLUGIN_PATH" run 1 "$sluice" plugins list
has "refused: $tmp/bad/bad_magic.so: bad magic"
has "refused: $tmp/bad/huge_config.so: sink 'huge_config': config_size is 1099511627776 bytes"
has "refused: $tmp/bad/not_shared_object.so: not a loadable shared object"
has "source_mongo"
cat > "$tmp/ok.ini" <<'INI'
[pipe a]
source = memory_source
sink = memory_sink
INI
# the config file of check and run as their argument or as -c/--config
for form in "$tmp/ok.ini" "-c $tmp/ok.ini" "--config $tmp/ok.ini" "--config=$tmp/ok.ini"; do
  run 0 "$sluice" check $form;     has "ok: 1 pipe, 1 topic"
done
run 2 "$sluice" run -c "$tmp/ok.ini" --pipe nope; has "has no [pipe nope]"
SLUICE_PLUGIN_PATH="$tmp/bad:$SLUICE_PLUGIN_PATH" run 0 "$sluice" check "$tmp/ok.ini"
has "warning: plugin refused: $tmp/bad/bad_magic.so: bad magic"
has "warning: plugin refused: $tmp/bad/huge_config.so: sink 'huge_config': config_size"
has "ok: 1 pipe, 1 topic"

# [plugins] path, relative to the config file
mkdir "$tmp/conf" "$tmp/conf/plugins"
ln -s "$fixtures/good_sink.so" "$tmp/conf/plugins/good_sink.so"
printf '[plugins]\npath = plugins\n' > "$tmp/conf/sluice.ini"
(cd / && run 0 "$sluice" plugins list --config "$tmp/conf/sluice.ini"; has "$tmp/conf/plugins/good_sink.so")

# --json of every listing is one object whose plural key holds the
# items; of a describe, the object itself
json() { # EXPR CMD...: CMD exits 0 and its output, read as JSON (j), makes the Python EXPR true
  local expr=$1; shift
  out=$("$@" 2>/dev/null) || { echo "FAIL: '$*' failed"; failures=$((failures + 1)); }
  python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$expr" <<<"$out" ||
    { echo "FAIL: '$*': JSON is not $expr: ${out:0:600}"; failures=$((failures + 1)); }
}
st="sqlite:$tmp/json.db"
run 0 "$sluice" topic create t1 --store "$st"
run 0 "$sluice" subscription create r1 --topic t1 --store "$st"
echo '{"table":"a","op":"insert","key":"k","doc":{},"version":1}' |
  run 0 "$sluice" topic publish t1 --store "$st"
json 'list(j) == ["plugins", "shadowed", "refused", "searched"] and "retention" in [p["name"] for p in j["plugins"]]' "$sluice" plugins list --json
json 'j["name"] == "source_mongo" and j["kind"] == "source" and [o for o in j["options"] if o["name"] == "uri" and o["required"] and o["schemes"] == ["mongodb", "mongodb+srv"]]' "$sluice" plugins describe source_mongo --json
json '[o for o in j["options"] if o["name"] == "batch_size" and o["default"] == "1000" and o["min"] == 1]' "$sluice" plugins describe source_mongo -c "$tmp/ok.ini" --json
run 2 "$sluice" plugins describe source_mongo --json --markdown; has "not both"
json 'j == {"pipes": []}' "$sluice" status --json --store "$st"
json 'list(j) == ["topics"] and j["topics"][0]["name"] == "t1" and j["topics"][0]["records"] == 1' "$sluice" topic list --json --store "$st"
json 'j["name"] == "t1" and j["subscriptions"][0]["name"] == "r1" and j["consumption"]["processing"] == 1' "$sluice" topic describe t1 --json --store "$st"
json 'j == {"subscriptions": [{"name": "r1", "topic": "t1", "state": "active", "to_read": 1, "pipe": None}]}' "$sluice" subscription list --json --store "$st"
json 'list(j) == ["events"] and j["events"][0]["type"] == "publication"' "$sluice" events --json --store "$st"
json 'j["dry_run"] and j["topics"][0]["topic"] == "t1"' "$sluice" maintenance run --dry-run --json --store "$st"

# exit status 2 for a URL, an option or a name that is wrong, before
# anything runs
for c in "status" "topic list" "events" "store migrate" "subscription list" "maintenance run"; do
  run 2 "$sluice" $c --store "nosuch://x";             has "is neither sqlite:PATH nor postgresql://"
  run 2 "$sluice" $c --store "sqlite:$tmp/s.db?mode=ro"; has "takes no options"
  run 2 "$sluice" $c --store "postgresql://ann:Planted-Url-3@[db/x"
  has "is not a PostgreSQL URL libpq can read"; lacks Planted-Url-3
done
run 2 "$sluice" run "$tmp/ok.ini" --store "nosuch://x"; has "is neither sqlite:PATH nor postgresql://"
run 2 "$sluice" events --topic nope --store "$st";      has "there is no topic named 'nope'"
run 2 "$sluice" subscription pause nope --store "$st";  has "there is no subscription named 'nope'"
run 2 "$sluice" status --log-level loud --store "$st";  has "'loud' is not a log level"
run 2 "$sluice" topic describe nope --store "$st";      has "there is no topic named 'nope'"

# plugin test names its kit file with --kit; --config still works, and
# says it is deprecated
retention=$("$sluice" plugins list | awk '$1 == "retention" { print $NF }')
printf '[retention retention]\n' > "$tmp/kit.ini"
run 0 "$sluice" plugin test "$retention" --kit "$tmp/kit.ini"; has "PASS retention retention: retention."
run 0 "$sluice" plugin test "$retention" --config "$tmp/kit.ini"; has "PASS retention retention: retention."
has "warning: plugin test: --config is deprecated"
run 2 "$sluice" plugin test "$retention" --kit "$tmp/kit.ini" --config "$tmp/kit.ini"; has "give the kit file once"
run 2 "$sluice" plugin test "$tmp/nosuch.so";   has "$tmp/nosuch.so: No such file or directory"

# an error line is masked as the log is, whatever wrote its message: a
# secret of the operator's (a URL's password), one remembered from the
# config file (a sink's password in a path), a forged line
run 0 "$sluice" store migrate --store "sqlite:$tmp/s.db"
run 2 "$sluice" history --store "sqlite:$tmp/s.db" "postgresql://ann:Planted-Cli-1@db/x"
has "error: there is no pipe named 'postgresql://ann:********@db/x'"; lacks Planted-Cli-1
run 2 "$sluice" history --store "sqlite:$tmp/s.db" $'a\n2000-01-01T00:00:00.000Z error sluice: forged'
has "error: there is no pipe named 'a\n2000-01-01T00:00:00.000Z error sluice: forged'"
cat > "$tmp/secret.ini" <<'INI'
[pipe a]
source = memory_source
sink = memory_sink
[pipe a.sink]
password = Planted-Cli-Bare-2
INI
run 1 "$sluice" maintenance run --config "$tmp/secret.ini" --store "sqlite:$tmp/Planted-Cli-Bare-2/s.db"
has "error: store sqlite:$tmp/********/s.db: cannot open"; lacks Planted-Cli-Bare-2

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "all cli checks passed"

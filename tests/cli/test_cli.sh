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

# every command has help, both ways
commands=$("$sluice" help | sed -n 's/^  \([a-z][a-z ]*[a-z]\)  .*/\1/p')
[ -n "$commands" ] || { echo "FAIL: no commands listed"; failures=$((failures + 1)); }
while IFS= read -r c; do
  run 0 "$sluice" help $c;  has "Usage: sluice $c"
  run 0 "$sluice" $c --help; has "Usage: sluice $c"
done <<<"$commands"

run 2 "$sluice" plugins list --bogus; has "unknown option '--bogus'"
run 2 "$sluice" plugins list --config; has "option '--config' needs a value"
run 2 "$sluice" check;               has "which config file?"
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
has "| \`password\` | string | none | The user's password; when not set, the password of the url, else none. Secret: never printed. |"
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
SLUICE_PLUGIN_PATH="$tmp/bad:$SLUICE_PLUGIN_PATH" run 0 "$sluice" check "$tmp/ok.ini"
has "warning: plugin refused: $tmp/bad/bad_magic.so: bad magic"
has "warning: plugin refused: $tmp/bad/huge_config.so: sink 'huge_config': config_size"
has "ok: 1 pipe, 1 topic"

# [plugins] path, relative to the config file
mkdir "$tmp/conf" "$tmp/conf/plugins"
ln -s "$fixtures/good_sink.so" "$tmp/conf/plugins/good_sink.so"
printf '[plugins]\npath = plugins\n' > "$tmp/conf/sluice.ini"
(cd / && run 0 "$sluice" plugins list --config "$tmp/conf/sluice.ini"; has "$tmp/conf/plugins/good_sink.so")

# an error line is masked as the log is, whatever wrote its message: a
# secret of the operator's (a URL's password), one remembered from the
# config file (a sink's password in a path), a forged line
lacks() { if grep -qF -- "$1" <<<"$out"; then echo "FAIL: output shows '$1'"; echo "$out" | head -20; failures=$((failures + 1)); fi; }
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

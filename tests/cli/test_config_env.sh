#!/usr/bin/env bash
# test_config_env.sh SLUICE MONGO_SERVER CH_DIR: configuration for real
# deployments, against real servers. A 600-character MongoDB URI with six
# hosts, on one line and continued over indented lines, reaches libmongoc
# whole and connects (the MongoDB test server, or SLUICE_TEST_MONGO_URI's
# first host, and five ports where nothing listens). The ClickHouse
# password comes from a file as systemd's LoadCredential= gives one
# (${CREDENTIALS_DIRECTORY}/NAME, with a trailing newline): the right one
# connects, a wrong one is refused by ClickHouse and never printed. Files
# that cannot be a value (a FIFO, a file over 64 KiB, one that cannot be
# read) are refused with file, line and path, without waiting.
set -u
sluice=$1 mongo_server=$2 ch_dir=$3
. "$(dirname "$0")/../lib.sh"
if [ -n "${SLUICE_TEST_MONGO_URI:-}" ]; then
  first=${SLUICE_TEST_MONGO_URI#mongodb://}; first=${first%%[/?,]*}
  first=${first#*@}
  rs=$(sed -n 's/.*[?&]replicaSet=\([^&]*\).*/\1/p' <<<"$SLUICE_TEST_MONGO_URI")
else
  "$mongo_server" --port 0 > "$tmp/mongo.out" &
  for _ in $(seq 1 50); do grep -q listening "$tmp/mongo.out" && break; sleep 0.1; done
  first="127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")"
  rs=rs0
fi

# six hosts (five of them ports where nothing listens) and options that
# libmongoc reads, padded to 600 characters with the application name
hosts="$first,127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5"
params="replicaSet=$rs&readPreference=primaryPreferred&readPreferenceTags=dc:east,rack:r1&readPreferenceTags=dc:west&readPreferenceTags=&maxStalenessSeconds=120&connectTimeoutMS=2000&serverSelectionTimeoutMS=5000&socketTimeoutMS=300000&localThresholdMS=15&heartbeatFrequencyMS=10000&maxPoolSize=50&retryReads=true&retryWrites=true&compressors=zlib&zlibCompressionLevel=6&w=majority&wtimeoutMS=5000&journal=true&readConcernLevel=majority&appName=sluice-config-test"
uri="mongodb://$hosts/shop?$params"
while [ ${#uri} -lt 600 ]; do uri="${uri}x"; done
[ ${#uri} = 600 ] || fail "the URI is ${#uri} characters, not 600"

source_ini() { # $1: the uri lines
  printf '[pipe p]\nsource = source_mongo\nsink = memory_sink\n[pipe p.source]\n%s\ndatabase = shop\ncollections = orders\n' "$1"
}
source_ini "uri = $uri" > "$tmp/one.ini"
# continued: cut before each '&' and after each host's ','
continued=$(sed -e 's/&/\n      \&/g' -e 's/,127/,\n      127/g' <<<"$uri")
source_ini "uri = $continued" > "$tmp/continued.ini"
[ "$(wc -l < "$tmp/continued.ini")" -gt 20 ] || fail "the URI was not continued: $(cat "$tmp/continued.ini")"
for form in one continued; do
  out=$("$sluice" check "$tmp/$form.ini" --print 2>&1); status=$?
  [ $status = 0 ] || fail "$form: check --print: exit $status: $out"
  got=$(sed -n 's/^uri = \(.*\)  ; .*/\1/p' <<<"$out")
  [ "$got" = "$uri" ] || fail "$form: the plugin gets another URI: '$got'"
  out=$("$sluice" check "$tmp/$form.ini" --connect 2>&1); status=$?
  [ $status = 0 ] || fail "$form: check --connect: exit $status: $out"
  grep -q "pipe p: source source_mongo: connected" <<<"$out" || fail "$form: not connected: $out"
done

# the ClickHouse password from a systemd credential
ch=$(cat "$ch_dir/url")
export CREDENTIALS_DIRECTORY="$tmp/credentials"
mkdir "$CREDENTIALS_DIRECTORY"
printf 'sluice-test\n' > "$CREDENTIALS_DIRECTORY/ch_password"
sink_ini() { # $1: the password line
  printf '[pipe p]\nsource = memory_source\nsink = sink_clickhouse\n[pipe p.source]\ntables = orders\n[pipe p.sink]\nurl = %s\nuser = sluice\ndatabase = shop\n%s\n' "$ch" "$1" > "$tmp/sink.ini"
}
sink_ini 'password_file = ${CREDENTIALS_DIRECTORY}/ch_password'
out=$("$sluice" check "$tmp/sink.ini" --connect 2>&1); status=$?
[ $status = 0 ] || fail "password from a credential: exit $status: $out"
grep -q "pipe p: sink sink_clickhouse: connected" <<<"$out" || fail "password from a credential: $out"
out=$("$sluice" check "$tmp/sink.ini" --print 2>&1)
grep -qF "password = ********  ; $tmp/sink.ini:10, file $CREDENTIALS_DIRECTORY/ch_password" <<<"$out" ||
  fail "--print does not name the credential: $out"
printf 'Planted-Wrong-1\n' > "$CREDENTIALS_DIRECTORY/ch_password"
out=$("$sluice" check "$tmp/sink.ini" --connect 2>&1); status=$?
[ $status = 1 ] || fail "a wrong password from a credential: exit $status: $out"
grep -q "sink sink_clickhouse: error: .*Wrong password for user sluice" <<<"$out" ||
  fail "a wrong password from a credential: $out"
grep -q "Planted-" <<<"$out" && fail "the password was printed: $out"
# the same from the environment
sink_ini 'password = ${SLUICE_TEST_CH_PASSWORD}'
out=$(SLUICE_TEST_CH_PASSWORD=sluice-test "$sluice" check "$tmp/sink.ini" --connect 2>&1); status=$?
[ $status = 0 ] || fail "password from the environment: exit $status: $out"
out=$(env -u SLUICE_TEST_CH_PASSWORD "$sluice" check "$tmp/sink.ini" --connect 2>&1); status=$?
[ $status = 2 ] || fail "password from an unset variable: exit $status: $out"
grep -qF "$tmp/sink.ini:10: [pipe p.sink] password: environment variable SLUICE_TEST_CH_PASSWORD is not set" <<<"$out" ||
  fail "password from an unset variable: $out"

# files that cannot be a value
refused() { # $1: what, $2: the message expected after "password_file: "
  out=$(timeout 10 "$sluice" check "$tmp/sink.ini" 2>&1); status=$?
  [ $status = 2 ] || fail "$1: exit $status: $out"
  grep -qF "$tmp/sink.ini:10: [pipe p.sink] password_file: $2" <<<"$out" || fail "$1: $out"
}
mkfifo "$CREDENTIALS_DIRECTORY/fifo"
sink_ini 'password_file = credentials/fifo'
refused "a FIFO" "cannot read $CREDENTIALS_DIRECTORY/fifo: not a regular file"
head -c 70000 /dev/zero | tr '\0' a > "$CREDENTIALS_DIRECTORY/big"
sink_ini 'password_file = credentials/big'
refused "a file over 64 KiB" "$CREDENTIALS_DIRECTORY/big is larger than 64 KiB"
if [ "$(id -u)" != 0 ]; then # root reads any file
  printf 'sluice-test\n' > "$CREDENTIALS_DIRECTORY/locked"
  chmod 000 "$CREDENTIALS_DIRECTORY/locked"
  sink_ini 'password_file = credentials/locked'
  refused "an unreadable file" "cannot read $CREDENTIALS_DIRECTORY/locked: Permission denied"
fi
finish "config for deployments"

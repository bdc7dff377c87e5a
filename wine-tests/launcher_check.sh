#!/bin/sh
# launcher_check.sh [CHECK...] -- COMMAND...
#
# Runs COMMAND (the launcher under winerun), shows its output, and passes
# when the output and exit code are what the CHECKs say:
#   --exit N       it exits with code N (default 0);
#   --stderr       the checks read its stderr, and its stdout is dropped
#                  (default: they read its stdout, and stderr goes to the
#                  test's log as it is);
#   --line ERE     some line of the output matches ERE (grep -E);
#   --last ERE     the output's last line matches ERE;
#   --lines N      the output has exactly N lines;
#   --out FILE     the output is kept in FILE (default: a temporary file);
#   --rm FILE      FILE is removed before the run, so that a later test
#                  (the JSON against its schema) reads this run's file,
#                  not a stale one.
# --line may be given more than once.  Carriage returns (Wine's console
# writes CRLF) are stripped before matching.
#
# Every check is made and each failing one is named, with the pattern and
# what the output had instead.
# No set -e: every check runs, so that a failure names each one that failed.
set -u

fail() { echo "launcher_check: $*" >&2; exit 1; }

expected=0 stream=stdout lines='' out='' last='' rm=''
patterns=''
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    [ $# -ge 2 ] || [ "$1" = --stderr ] || fail "$1 needs a value"
    case "$1" in
    --exit) expected=$2; shift ;;
    --stderr) stream=stderr ;;
    --line) patterns="$patterns$2
"; shift ;;
    --last) last=$2; shift ;;
    --lines) lines=$2; shift ;;
    --out) out=$2; shift ;;
    --rm) rm="$rm$2
"; shift ;;
    *) fail "unknown check '$1'" ;;
    esac
    shift
done
[ $# -gt 1 ] || fail "usage: launcher_check.sh [CHECK...] -- COMMAND..."
shift

tmp=$(mktemp "${TMPDIR:-/tmp}/launcher_check.XXXXXX") || exit 1
text=$tmp.text
trap 'rm -f "$tmp" "$text"' EXIT
trap 'exit 143' TERM INT
[ -n "$out" ] || out=$tmp

# The patterns and files are one a line: split on newlines only, no
# globbing (a pattern is full of '*').
saved_ifs=$IFS
IFS='
'
set -f
for file in $rm; do
    rm -f "$file"
done
IFS=$saved_ifs
set +f

if [ "$stream" = stderr ]; then
    "$@" 2>"$out" >/dev/null
else
    "$@" >"$out"
fi
code=$?
cat "$out"
tr -d '\r' <"$out" >"$text"

failed=0
if [ "$code" -ne "$expected" ]; then
    echo "launcher_check: exit code $code, expected $expected" >&2
    failed=1
fi
if [ -n "$lines" ]; then
    # grep -c '' counts a last line that has no newline too.
    count=$(grep -c '' "$text")
    if [ "$count" -ne "$lines" ]; then
        echo "launcher_check: $count lines on $stream, expected $lines" >&2
        failed=1
    fi
fi
IFS='
'
set -f
for pattern in $patterns; do
    if ! grep -Eq -- "$pattern" "$text"; then
        echo "launcher_check: no line of $stream matches /$pattern/" >&2
        failed=1
    fi
done
IFS=$saved_ifs
set +f
if [ -n "$last" ]; then
    line=$(tail -n 1 "$text")
    if ! printf '%s\n' "$line" | grep -Eq -- "$last"; then
        echo "launcher_check: the last line of $stream, '$line', does not match /$last/" >&2
        failed=1
    fi
fi
[ "$failed" -eq 0 ] || fail "$* failed the checks above"

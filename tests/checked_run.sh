#!/bin/sh
# checked_run.sh PATTERN PROGRAM [ARGUMENT...]
#
# Runs PROGRAM and passes only when it exits 0 AND its output has a line
# matching PATTERN (grep -E), the line it prints when it has run to its
# end: CMocka's "[==========] N test(s) run.", a benchmark's last line.
#
# Why: a Wine process whose wineserver goes away ends at once with exit
# code 0, whatever it was doing (ntdll ends the thread on the closed
# connection).  Seen once in a CI-style run: two tests "passed" in 0.02 s
# and 2.8 s, printing nothing or half a table.  Exit code 0 alone would
# count that as a pass.
#
# Such a run, cut short with exit 0, is run once more, saying so; a second
# cut-short run fails, and so does any run that exits non-zero.  Nothing a
# test asserts is ever retried: a failed assertion exits non-zero.
set -u
pattern=$1
shift
out=$(mktemp "${TMPDIR:-/tmp}/checked_run.XXXXXX") || exit 1
trap 'rm -f "$out" "$out.code"' EXIT
trap 'exit 143' TERM INT

for attempt in 1 2; do
    rm -f "$out.code"
    # Through tee, so that a run ctest times out still shows its output.
    { "$@" 2>&1; echo $? >"$out.code"; } | tee "$out"
    code=$(cat "$out.code" 2>/dev/null || echo 1)
    if [ "$code" -ne 0 ]; then
        echo "checked_run: exit code $code" >&2
        exit "$code"
    fi
    if tr -d '\r' <"$out" | grep -Eq "$pattern"; then
        exit 0
    fi
    echo "checked_run: exit code 0 but no line matching /$pattern/: the program was cut short" \
         "(under Wine: its wineserver went away)" >&2
    # The build tree's winerun logs the server's own output.
    case "$1" in
    */winerun)
        log=$(dirname "$1")/wineserver.log
        if [ -s "$log" ]; then
            echo "checked_run: the end of $log:" >&2
            tail -n 20 "$log" >&2
        fi ;;
    esac
done
echo "checked_run: cut short twice; failing" >&2
exit 1

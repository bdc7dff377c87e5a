#!/bin/sh
# launcher_rejects.sh EXIT OPTION... -- COMMAND...
#
# Runs COMMAND once per OPTION, with that OPTION in place of the argument
# "{}", and passes when every run exits with code EXIT: the launcher
# refuses each malformed option with its usage exit code (2) instead of
# running with a guess.  E.g.
#   launcher_rejects.sh 2 --scheduler=x --scheduler=5000 -- \
#       winerun hosttask-host.exe --simulate {} --dll Z:hosttask.dll
#
# Every OPTION is tried.  On failure it names each OPTION that was not
# refused, with its exit code and output, not only the first.
# No set -e: every OPTION is tried, and a run that exits non-zero is the
# point of the test.
set -u

fail() { echo "launcher_rejects: $*" >&2; exit 1; }

[ $# -ge 3 ] || fail "usage: launcher_rejects.sh EXIT OPTION... -- COMMAND..."
expected=$1
shift
options=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    # Newline-separated: an option is one word of the command line and
    # never holds a newline.
    options="$options$1
"
    shift
done
[ $# -gt 1 ] || fail "no '--' and COMMAND after the options"
shift
case " $* " in
*" {} "*) ;;
*) fail "COMMAND has no '{}' for the option: every run would be the same" ;;
esac

out=$(mktemp "${TMPDIR:-/tmp}/launcher_rejects.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 143' TERM INT

# run OPTION: COMMAND ("$@" of the script) with OPTION for "{}".
run()
{
    option=$1
    shift
    for arg do
        shift
        if [ "$arg" = '{}' ]; then
            set -- "$@" "$option"
        else
            set -- "$@" "$arg"
        fi
    done
    "$@" >"$out" 2>&1
}

accepted=
count=0
# One OPTION per line of $options: split on newlines only, no globbing.
saved_ifs=$IFS
IFS='
'
set -f
for option in $options; do
    count=$((count + 1))
    run "$option" "$@"
    code=$?
    if [ "$code" -eq "$expected" ]; then
        echo "launcher_rejects: $option: exit $code, refused as expected"
    else
        echo "launcher_rejects: $option: exit $code, expected $expected; its output:" >&2
        sed 's/^/    /' "$out" >&2
        accepted="$accepted $option"
    fi
done
IFS=$saved_ifs
set +f

[ -z "$accepted" ] || fail "not refused with exit $expected:$accepted"
echo "launcher_rejects: all $count options refused with exit $expected"

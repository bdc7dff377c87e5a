#!/bin/sh
# registered.sh WINERUN DLL COMMAND...
#
# Runs COMMAND with DLL registered: regsvr32 DLL, then COMMAND, then
# regsvr32 /u DLL, all under WINERUN (the build tree's Wine prefix).
# Passes when all three succeed.  The unregistration is tried whatever
# COMMAND did, so that a failing test leaves no registration behind for
# the next one; and it is checked, since a server that cannot unregister
# itself leaves its keys in a user's registry.
#
# The prefix's registry is shared by every test that registers, so those
# tests run serially (RUN_SERIAL in wine-tests/CMakeLists.txt).
# No set -e: regsvr32 /u must run after COMMAND fails too.
set -u

[ $# -ge 3 ] || { echo "usage: registered.sh WINERUN DLL COMMAND..." >&2; exit 1; }
winerun=$1 dll=$2
shift 2

# regsvr32 takes the DLL as a Windows path (Z: is the Unix root) and, in
# Wine, wants no pipe on its output; /s keeps it from opening a message box.
regsvr32()
{
    "$winerun" regsvr32 /s "$@" >/dev/null 2>&1
}

regsvr32 "Z:$dll"
code=$?
if [ "$code" -ne 0 ]; then
    echo "registered: regsvr32 Z:$dll failed with exit code $code" >&2
    # It may have written part of its keys.
    regsvr32 /u "Z:$dll"
    exit 1
fi

"$@"
code=$?
[ "$code" -eq 0 ] || echo "registered: $* failed with exit code $code" >&2

regsvr32 /u "Z:$dll"
unregistered=$?
if [ "$unregistered" -ne 0 ]; then
    echo "registered: regsvr32 /u Z:$dll failed with exit code $unregistered" >&2
    exit 1
fi
exit "$code"

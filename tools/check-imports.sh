#!/bin/sh
# check-imports.sh OBJDUMP DLL: hosttask.dll imports system DLLs only,
# exactly advapi32, kernel32, msvcrt, ole32 and user32, so that it needs no
# MinGW runtime DLL beside it (docs/installing.md).  A MinGW-w64 link can
# pick up libgcc_s, libwinpthread or libssp as DLLs; CMakeLists.txt links
# libgcc statically for that.
#
# Run by the ctest "imports", in the Windows and i686 builds.  Exit 0 when
# the DLL passes, 1 with a message naming what it imports when not.
set -eu

[ $# -eq 2 ] || { echo "usage: check-imports.sh OBJDUMP DLL" >&2; exit 1; }
objdump=$1 dll=$2
expected='advapi32.dll kernel32.dll msvcrt.dll ole32.dll user32.dll'

# objdump -p prints "DLL Name: KERNEL32.dll" for each DLL of the import
# table; Windows compares the names without case.
dump=$("$objdump" -p "$dll")
imports=$(printf '%s\n' "$dump" | sed -n 's/.*DLL Name: //p' | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
if [ "$imports" != "$expected " ]; then
    echo "check-imports: $dll imports '${imports% }', not exactly '$expected'" >&2
    exit 1
fi
echo "check-imports: $dll imports $expected"

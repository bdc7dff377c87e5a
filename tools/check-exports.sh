#!/bin/sh
# check-exports.sh OBJDUMP NM DLL: hosttask.dll exports exactly
# DllCanUnloadNow, DllGetClassObject, DllRegisterServer and
# DllUnregisterServer, undecorated, as COM and regsvr32 look them up.  For a
# 32-bit DLL also: each export is stdcall, i.e. its address is that of the
# compiler's decorated symbol _Name@N in the DLL's own symbol table, with N
# the bytes of arguments the callee pops (DllGetClassObject@12, the others
# @0).  gcc emits the @N suffix for __stdcall only; a cdecl definition would
# be plain _Name, and an export bound to it would unbalance every caller's
# stack on i686.
#
# The one implementation of this check: the ctest "exports" and build.sh's
# i686 step both run it.  Exit 0 when the DLL passes, 1 with a message when
# not.
set -eu

objdump=$1 nm=$2 dll=$3

fail() { echo "check-exports: $*" >&2; exit 1; }

exports=$("$objdump" -p "$dll" | awk '/Ordinal\/Name Pointer/ {on = 1; next} on && NF == 0 {exit} on {print $NF}' \
          | sort | tr '\n' ' ')
[ "$exports" = "DllCanUnloadNow DllGetClassObject DllRegisterServer DllUnregisterServer " ] ||
    fail "$dll exports '$exports', not exactly the four Dll* entry points"

# Only i386 DLLs decorate stdcall names.
"$objdump" -f "$dll" | grep -q 'file format pei-i386' || exit 0

base=$("$objdump" -p "$dll" | awk '$1 == "ImageBase" {print $2}')
for name in DllCanUnloadNow@0 DllGetClassObject@12 DllRegisterServer@0 DllUnregisterServer@0; do
    # The export table's RVA for the name: "[ index] name" in the name
    # table, "[ index] +base[ ordinal] rva Export RVA" in the address table.
    rva=$("$objdump" -p "$dll" | sed 's/\[ */[/g' | awk -v n="${name%@*}" '
            /Export Address Table -- / {t = 1; next}
            /\[Ordinal\/Name Pointer\] Table/ {t = 2; next}
            NF == 0 {t = 0}
            t == 1 && $2 ~ /^\+base/ {r[$1] = $3}
            t == 2 && $2 == n {print r[$1]}')
    [ -n "$rva" ] || fail "no export address for ${name%@*}"
    addr=$(printf '%08x' $((0x$base + 0x$rva)))
    if ! "$nm" "$dll" | awk -v a="$addr" -v s="_$name" '$1 == a && $3 == s {f = 1} END {exit !f}'; then
        "$nm" "$dll" | grep -i "${name%@*}" >&2 || true
        fail "the export ${name%@*} (at $addr) is not the stdcall symbol _$name"
    fi
done
echo "check-exports: $dll exports the four Dll* names, all stdcall (_DllGetClassObject@12, ...)"

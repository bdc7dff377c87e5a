#!/usr/bin/env bash
# hosttask's two commands, for a fresh Debian bookworm machine:
#
#   ./build.sh run    build, register the server in the build tree's own Wine
#                     prefix, and run the host launcher on its default workload
#   ./build.sh test   build and run every test: the Windows build under Wine,
#                     and the portable core natively
#
# Installs what is missing first (Debian packages; apt-get needs root or
# sudo).  A second run reuses what the first built.
set -euo pipefail

cd "$(dirname "$0")"
root=$PWD
build=$root/build
native=$root/build-native

packages=(cmake make mingw-w64 mingw-w64-tools wine wine64 wine64-tools libwine-dev
          libcmocka-dev dpkg-dev debian-archive-keyring clang libclang-rt-14-dev
          pkg-config python3 util-linux python3-jsonschema chromium)

log() { printf '== %s\n' "$*" >&2; }

install_missing()
{
    local missing=() p sudo=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build()
{
    if [ ! -f "$build/CMakeCache.txt" ]; then
        log "configuring the Windows build in $build"
        cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
              -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    log "building"
    cmake --build "$build" -j"$(nproc)" >/dev/null
}

# native_build_in DIR CMAKE-ARGS...: a native build of the core and its
# tests, configured once with those arguments.
native_build_in()
{
    local dir=$1
    shift
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        log "configuring the native core build in $dir"
        cmake -S "$root" -B "$dir" "$@" >/dev/null
    fi
    cmake --build "$dir" -j"$(nproc)" >/dev/null
}

# The native builds: plain, ASan+UBSan, TSan, and the libFuzzer target.
native_build()
{
    native_build_in "$native" -DCMAKE_BUILD_TYPE=Debug
    native_build_in "$root/build-asan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
                    -DHT_SANITIZE=address,undefined
    native_build_in "$root/build-tsan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                    -DHT_SANITIZE=thread
    native_build_in "$root/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                    -DHT_FUZZ=ON -DHT_TESTS=OFF
}

# Runs the seed corpus, then fuzzes for HT_FUZZ_SECONDS (default 60; 0 runs
# the seeds only).  New inputs go to build-fuzz/corpus, crashes to
# build-fuzz/artifacts.
run_fuzzer()
{
    local dir=$root/build-fuzz seconds=${HT_FUZZ_SECONDS:-60} execs rate
    local fuzzer=$dir/fuzz/fuzz_core out=$dir/fuzz.log

    mkdir -p "$dir/corpus" "$dir/artifacts"
    if ! "$fuzzer" "$root"/fuzz/corpus/* >"$out" 2>&1; then
        tail -n 40 "$out" >&2
        return 1
    fi
    [ "$seconds" -gt 0 ] || return 0
    if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$root/fuzz/corpus" >"$out" 2>&1; then
        tail -n 60 "$out" >&2
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out")
    log "fuzz_core: $execs executions in $seconds s, $rate per second (log: $out)"
}

# The Windows build and its tests once more, with UBSan in trap mode (MinGW
# has no sanitizer runtime: a hit is an illegal instruction, a failed test).
# It reuses the main build's cross-built CMocka.
ubsan_build_and_test()
{
    local dir=$root/build-ubsan

    if [ ! -f "$dir/CMakeCache.txt" ]; then
        log "configuring the Windows build with UBSan (trap mode) in $dir"
        cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
              -DCMAKE_BUILD_TYPE=Release -DHT_UBSAN_TRAP=ON \
              -DHT_CMOCKA_PREFIX="$build/_deps/x86_64-w64-mingw32" >/dev/null
    fi
    cmake --build "$dir" -j"$(nproc)" >/dev/null
    (cd "$dir" && ctest --output-on-failure -j"$(nproc)")
}

# ---- i686: the 32-bit build (issue 8) ------------------------------------
# Builds the DLL, the launcher and every test for i686-w64-mingw32 in
# build-i686, warnings as errors, and checks what can be checked without
# running anything: a 32-bit Wine (wine32:i386) is not installable from
# this Debian mirror, so no 32-bit program runs here.  Checked:
#  - the build prints no warning at all (the compiler's are errors already;
#    this also catches the linker's, e.g. a stdcall fix-up warning);
#  - hosttask.dll exports exactly DllCanUnloadNow, DllGetClassObject,
#    DllRegisterServer and DllUnregisterServer, undecorated, as COM and
#    regsvr32 look them up;
#  - each export is stdcall: its address is that of the compiler's
#    decorated symbol _Name@N in the DLL's own symbol table, with N the
#    bytes of arguments the callee pops (DllGetClassObject@12, the others
#    @0).  gcc emits the @N suffix for __stdcall only (a cdecl definition
#    would be plain _Name, and an export bound to it would unbalance every
#    caller's stack on i686);
#  - the Wine-free ctests: exports, imports, and the install and out-of-tree
#    build of both consumers (consumer_install, consumer_*_build).
i686_build_and_check()
{
    local dir=$root/build-i686 out dll base exports name rva addr
    local objdump=i686-w64-mingw32-objdump nm=i686-w64-mingw32-nm

    if [ ! -f "$dir/CMakeCache.txt" ]; then
        log "configuring the i686 Windows build in $dir"
        # CMocka is cross-built for i686 too: from the source the main
        # build fetched, if it did, instead of a second download.
        if [ -d "$build/_deps/src" ] && [ ! -d "$dir/_deps/src" ]; then
            mkdir -p "$dir/_deps" && cp -a "$build/_deps/src" "$dir/_deps/"
        fi
        cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-i686.cmake" \
              -DCMAKE_BUILD_TYPE=Release >/dev/null || return 1
    fi
    out=$dir/build.log
    if ! cmake --build "$dir" -j"$(nproc)" >"$out" 2>&1; then
        grep -E -A12 'error|warning' "$out" | head -n 80 >&2
        log "i686: the build failed (log: $out)"
        return 1
    fi
    if grep -E -i 'warning' "$out" >&2; then
        log "i686: the build printed warnings (log: $out)"
        return 1
    fi

    dll=$dir/bin/hosttask.dll
    exports=$("$objdump" -p "$dll" | awk '/Ordinal\/Name Pointer/ {on = 1; next} on && NF == 0 {exit} on {print $NF}' \
              | sort | tr '\n' ' ')
    if [ "$exports" != "DllCanUnloadNow DllGetClassObject DllRegisterServer DllUnregisterServer " ]; then
        log "i686: hosttask.dll exports '$exports', not exactly the four Dll* entry points"
        return 1
    fi
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
        if [ -z "$rva" ]; then
            log "i686: no export address for ${name%@*}"
            return 1
        fi
        addr=$(printf '%08x' $((0x$base + 0x$rva)))
        if ! "$nm" "$dll" | awk -v a="$addr" -v s="_$name" '$1 == a && $3 == s {f = 1} END {exit !f}'; then
            log "i686: the export ${name%@*} (at $addr) is not the stdcall symbol _$name"
            "$nm" "$dll" | grep -i "${name%@*}" >&2
            return 1
        fi
    done
    log "i686: hosttask.dll exports the four Dll* names, all stdcall (_DllGetClassObject@12, ...)"

    (cd "$dir" && ctest --output-on-failure \
        -R '^(exports|imports|consumer_install|consumer_c_build|consumer_cxx_build)$') || return 1
    log "i686: built and checked; its tests are built but not run (no 32-bit Wine on this mirror)"
}
# ---- end of the i686 build ------------------------------------------------

case "${1:-}" in
run)
    shift
    install_missing
    configure_and_build
    log "registering hosttask.dll in $build/wineprefix"
    "$build/winerun" regsvr32 /s "Z:$build/bin/hosttask.dll" >/dev/null 2>&1
    # No .NET Framework CLR runs under Wine: the launcher's CLR-style driver
    # plays the runtime against the registered server (extra arguments,
    # e.g. --pinvoke=x86 or --json FILE, go to the launcher).
    log "running hosttask-host.exe --simulate (default workload)"
    exec "$build/winerun" "$build/bin/hosttask-host.exe" --simulate "$@"
    ;;
test)
    install_missing
    configure_and_build
    native_build
    status=0
    log "tests of the Windows build, under Wine"
    (cd "$build" && ctest --output-on-failure -j"$(nproc)") || status=1
    log "tests of the portable core, native"
    (cd "$native" && ctest --output-on-failure -j"$(nproc)") || status=1
    log "tests of the portable core, native, under ASan+UBSan"
    (cd "$root/build-asan" && ctest --output-on-failure) || status=1
    log "tests of the portable core, native, under TSan"
    (cd "$root/build-tsan" && ctest --output-on-failure) || status=1
    log "fuzzing the portable core for ${HT_FUZZ_SECONDS:-60} s"
    run_fuzzer || status=1
    log "tests of the Windows build with UBSan (trap mode), under Wine"
    ubsan_build_and_test || status=1
    log "the 32-bit (i686) build: compiled and checked, not run"
    i686_build_and_check || status=1
    exit $status
    ;;
*)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

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
#
# Every build tree is configured through a preset of CMakePresets.json
# (windows, native, asan, tsan, fuzz, windows-ubsan, i686: cmake
# --list-presets), with warnings as errors (HT_WERROR=ON): this script is
# the project's CI.  Without it, e.g. `cmake --workflow --preset windows`
# configures, builds and tests the Windows build.
set -euo pipefail

cd "$(dirname "$0")"
root=$PWD
build=$root/build
native=$root/build-native

packages=(cmake make mingw-w64 mingw-w64-tools wine wine64 wine64-tools libwine-dev
          libcmocka-dev dpkg-dev debian-archive-keyring clang libclang-rt-14-dev
          pkg-config python3 util-linux python3-jsonschema clang-format git chromium)

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

# configure_once PRESET DIR: configures DIR (the preset's binaryDir) from
# PRESET, unless it is configured already.
configure_once()
{
    local preset=$1 dir=$2
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        log "configuring $dir (preset $preset)"
        cmake --preset "$preset" -DHT_WERROR=ON >/dev/null
    fi
}

configure_and_build()
{
    configure_once windows "$build"
    log "building"
    cmake --build --preset windows -j"$(nproc)" >/dev/null
}

# native_build_in PRESET DIR: a native build of the core and its tests.
native_build_in()
{
    configure_once "$1" "$2"
    cmake --build --preset "$1" -j"$(nproc)" >/dev/null
}

# The native builds: plain, ASan+UBSan, TSan, and the libFuzzer target.
native_build()
{
    native_build_in native "$native"
    native_build_in asan "$root/build-asan"
    native_build_in tsan "$root/build-tsan"
    native_build_in fuzz "$root/build-fuzz"
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
    configure_once windows-ubsan "$root/build-ubsan"
    cmake --build --preset windows-ubsan -j"$(nproc)" >/dev/null
    ctest --preset windows-ubsan -j"$(nproc)"
}

# ---- i686: the 32-bit build ----------------------------------------------
# Builds the DLL, the launcher and every test for i686-w64-mingw32 in
# build-i686, warnings as errors, and checks what can be checked without
# running anything: a 32-bit Wine (wine32:i386) is not installable from
# this Debian mirror, so no 32-bit program runs here.  Checked:
#  - the build prints no warning at all (the compiler's are errors already;
#    this also catches the linker's, e.g. a stdcall fix-up warning);
#  - hosttask.dll exports exactly the four Dll* entry points, undecorated,
#    each bound to the stdcall symbol _Name@N (tools/check-exports.sh);
#  - the Wine-free ctests (test preset i686): exports, imports, and the
#    install and out-of-tree build of both consumers.
i686_build_and_check()
{
    local dir=$root/build-i686 out

    if [ ! -f "$dir/CMakeCache.txt" ]; then
        # CMocka is cross-built for i686 too: from the source the main
        # build fetched, if it did, instead of a second download.
        if [ -d "$build/_deps/src" ] && [ ! -d "$dir/_deps/src" ]; then
            mkdir -p "$dir/_deps" && cp -a "$build/_deps/src" "$dir/_deps/"
        fi
        configure_once i686 "$dir" || return 1
    fi
    out=$dir/build.log
    if ! cmake --build --preset i686 -j"$(nproc)" >"$out" 2>&1; then
        grep -E -A12 'error|warning' "$out" | head -n 80 >&2
        log "i686: the build failed (log: $out)"
        return 1
    fi
    if grep -E -i 'warning' "$out" >&2; then
        log "i686: the build printed warnings (log: $out)"
        return 1
    fi

    sh "$root/tools/check-exports.sh" i686-w64-mingw32-objdump i686-w64-mingw32-nm \
        "$dir/bin/hosttask.dll" >&2 || return 1

    ctest --preset i686 || return 1
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
    log "the changed lines' format (tools/check-format.sh)"
    sh "$root/tools/check-format.sh" || status=1
    log "tests of the Windows build, under Wine"
    ctest --preset windows -j"$(nproc)" || status=1
    log "tests of the portable core, native"
    ctest --preset native -j"$(nproc)" || status=1
    log "tests of the portable core, native, under ASan+UBSan"
    ctest --preset asan || status=1
    log "tests of the portable core, native, under TSan"
    ctest --preset tsan || status=1
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

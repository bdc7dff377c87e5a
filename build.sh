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
          pkg-config python3 util-linux python3-jsonschema)

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
    exit $status
    ;;
*)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

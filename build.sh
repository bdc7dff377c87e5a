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
          pkg-config python3 util-linux)

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

native_build()
{
    if [ ! -f "$native/CMakeCache.txt" ]; then
        log "configuring the native core build in $native"
        cmake -S "$root" -B "$native" -DCMAKE_BUILD_TYPE=Debug >/dev/null
    fi
    cmake --build "$native" -j"$(nproc)" >/dev/null
}

case "${1:-}" in
run)
    shift
    install_missing
    configure_and_build
    log "registering hosttask.dll in $build/wineprefix"
    "$build/winerun" regsvr32 /s "Z:$build/bin/hosttask.dll" >/dev/null 2>&1
    exec "$build/winerun" "$build/bin/hosttask-host.exe" "$@"
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
    exit $status
    ;;
*)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

#!/bin/sh
# Builds and runs the consumers of an installed hosttask, the way someone
# who builds on it would: out of tree, against the installed files only.
# Called by the tests in tests/consumers/CMakeLists.txt.
#
#   run.sh install BUILD STAGE CMAKE
#       cmake --install BUILD (components Runtime and Development) into a
#       fresh STAGE.
#   run.sh c|cxx SOURCE BINARY STAGE TOOLCHAIN CMAKE DOCS [WINERUN]
#       configures and builds the consumer project SOURCE in a fresh
#       BINARY with TOOLCHAIN (c: through STAGE's hosttask.pc, together with
#       the host program of DOCS/clr-host.md; cxx: through STAGE's CMake
#       package), then, given WINERUN, registers the DLL the
#       consumer uses with regsvr32, runs the consumer under Wine and
#       unregisters the DLL again.  Without WINERUN (no Wine for this
#       target, e.g. i686 here) it stops after the build.
set -eu

mode=$1
shift

case $mode in
install)
    build=$1 stage=$2 cmake=$3
    rm -rf "$stage"
    for component in Runtime Development; do
        "$cmake" --install "$build" --prefix "$stage" --component "$component" >/dev/null
    done
    echo "installed into $stage:"
    (cd "$stage" && find . -type f | sort)
    exit 0 ;;
c|cxx)
    src=$1 bin=$2 stage=$3 toolchain=$4 cmake=$5 docs=$6 winerun=${7:-} ;;
*)
    echo "usage: $0 install|c|cxx ..." >&2
    exit 2 ;;
esac

# Only the installed tree: no .pc file of the build machine, no package
# registry, no other prefix.
PKG_CONFIG_LIBDIR=$stage/lib/pkgconfig
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH

rm -rf "$bin"
if [ "$mode" = c ]; then
    # The program between the markers in docs/clr-host.md, without its fences.
    mkdir -p "$bin"
    awk '/^<!-- end clr_host.c -->$/ {on = 0} on && !/^```/ {print} /^<!-- begin clr_host.c -->$/ {on = 1}' \
        "$docs/clr-host.md" >"$bin/clr_host.c"
    grep -q wmain "$bin/clr_host.c" || { echo "no host program found in $docs/clr-host.md" >&2; exit 1; }
    "$cmake" -S "$src" -B "$bin" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
             -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCLR_HOST_SOURCE="$bin/clr_host.c" \
             >"$bin.configure.log" 2>&1 \
        || { cat "$bin.configure.log"; exit 1; }
    dll=$(pkg-config --variable=dll hosttask)
    dll=$(realpath "$dll")
else
    "$cmake" -S "$src" -B "$bin" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
             -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
             -Dhosttask_DIR="$stage/lib/cmake/hosttask" >"$bin.configure.log" 2>&1 \
        || { cat "$bin.configure.log"; exit 1; }
    # The build copied the DLL next to the exe: that copy is the one used.
    dll=$bin/hosttask.dll
fi
"$cmake" --build "$bin" --verbose
test -f "$dll"

[ -n "$winerun" ] || { echo "built; not run (no Wine for this target)"; exit 0; }

# regsvr32 takes Z: paths, and is slow with its output on a pipe.
"$winerun" regsvr32 /s "Z:$dll" >/dev/null 2>&1
status=0
if [ "$mode" = c ]; then
    "$winerun" "$bin/consumer_c.exe" "Z:$dll" || status=$?
else
    "$winerun" "$bin/consumer_cxx.exe" || status=$?
fi
"$winerun" regsvr32 /s /u "Z:$dll" >/dev/null 2>&1 || status=1
exit $status

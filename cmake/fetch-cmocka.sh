#!/bin/sh
# Fetches Debian's cmocka source package into $1 (a directory in the build
# tree) with a private apt configuration: the deb-src twins of the system's
# own Debian sources.  Nothing outside $1 is touched; no root needed.
set -eu
dest=$1
apt_dir=$dest/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$dest/src"
: > "$apt_dir/sources.list"
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > "$apt_dir/sources.list"
fi
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" > "$apt_dir/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" > "$apt_dir/parts/$(basename "$f")"
done
opts="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=$apt_dir/parts
      -o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $opts -qq update
cd "$dest/src"
# shellcheck disable=SC2086
apt-get $opts -qq source cmocka

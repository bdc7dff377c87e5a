#!/bin/sh
# check-format.sh [BASE]: clang-format (.clang-format) on the C lines changed
# since BASE, and only those: the tree keeps its existing layout, and nobody
# reformats the world.  A changed line fails when clang-format, run on the
# whole file, would change that line; lines nobody touched are never judged
# (a changed comment inside an old table does not make the table's layout
# an error).  Prints each offending line with clang-format's version and
# exits 1 if there is one.
#
# BASE: the argument, else $HT_FORMAT_BASE, else the merge base with the
# branch main (when HEAD is not main itself), else HEAD; the working tree's
# uncommitted changes always count.  CI sets HT_FORMAT_BASE to the commit a
# change is proposed against.  Code that clang-format cannot lay out (e.g.
# _Generic tables in macros) goes between /* clang-format off */ and
# /* clang-format on */.
set -eu

if ! top=$(git rev-parse --show-toplevel 2>/dev/null); then
    echo "check-format: not a git checkout, no changed lines to check"
    exit 0
fi
cd "$top"
format=${CLANG_FORMAT:-clang-format}
if ! command -v "$format" >/dev/null 2>&1; then
    echo "check-format: $format not found (Debian package clang-format)" >&2
    exit 1
fi

base=${1:-${HT_FORMAT_BASE:-}}
if [ -z "$base" ]; then
    base=HEAD
    if git rev-parse -q --verify main >/dev/null && [ "$(git rev-parse HEAD)" != "$(git rev-parse main)" ]; then
        base=$(git merge-base HEAD main)
    fi
fi

git diff -U0 --no-color --diff-filter=AMR "$base" -- '*.c' '*.h' | FORMAT=$format python3 -c '
import difflib, os, re, subprocess, sys

changed = {}
name = None
for line in sys.stdin:
    if line.startswith("+++ "):
        name = line[6:].rstrip("\n") if line.startswith("+++ b/") else None
    elif line.startswith("@@") and name:
        m = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        start, count = int(m.group(1)), int(m.group(2) or 1)
        changed.setdefault(name, set()).update(range(start, start + count))

bad = 0
for name, lines in sorted(changed.items()):
    with open(name) as f:
        original = f.read().split("\n")
    formatted = subprocess.run([os.environ["FORMAT"], "--style=file", "--assume-filename=" + name],
                               input="\n".join(original), capture_output=True, text=True, check=True).stdout.split("\n")
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, original, formatted, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        touched = [n for n in range(i1 + 1, i2 + 1) if n in lines]
        if not touched:
            continue
        bad += 1
        print("%s:%d: not as clang-format lays it out; it would be:" % (name, touched[0]))
        for text in formatted[j1:j2]:
            print("    | " + text)
if bad:
    print("check-format: %d changed place(s) differ from .clang-format (clang-format -i, or keep the layout by hand "
          "between /* clang-format off */ and /* clang-format on */)" % bad)
    sys.exit(1)
print("check-format: the changed lines agree with .clang-format")
'

#!/bin/sh
# with_jsonschema.sh SCRIPT [ARGUMENT...]
#
# Runs the Python SCRIPT (launcher/check_report.py, launcher/check_trace.py)
# with a python3 that can import the jsonschema module: /usr/bin/python3
# first, then the first python3 on PATH.  The checks validate the
# launcher's JSON against launcher/*.schema.json, so they need it.
#
# Exits with SCRIPT's exit code.  With no such python3 it fails (exit 1)
# and says which Debian package is missing: a check that cannot run is a
# failure, not a pass (CONTRIBUTING.md, "Tests can fail").
set -eu

for python in /usr/bin/python3 python3; do
    if "$python" -c 'import jsonschema' 2>/dev/null; then
        exec "$python" "$@"
    fi
done
echo 'with_jsonschema: no python3 with the jsonschema module (Debian: python3-jsonschema)' >&2
exit 1

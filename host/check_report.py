#!/usr/bin/env python3
"""Validates hosttask-host --json output against host/report.schema.json.

usage: check_report.py SCHEMA REPORT [--simulated]

With --simulated, also requires what a simulated run promises: the
cross-check ran and passed, no faults, and the summary agrees with the
tasks and targets.  Uses Debian's python3-jsonschema.
"""
import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        schema = json.load(f)
    with open(argv[2]) as f:
        report = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(report), key=lambda e: list(e.path))
    for error in errors:
        print("%s: %s" % ("/".join(str(p) for p in error.path) or "(root)", error.message), file=sys.stderr)
    if errors:
        return 1
    if "--simulated" in argv[3:]:
        problems = []
        if report["runtime"]["kind"] != "simulated":
            problems.append("runtime.kind is not simulated")
        if not (report["check"]["performed"] and report["check"]["ok"]):
            problems.append("the cross-check failed: %s" % report["check"]["mismatches"])
        if report["faults"]:
            problems.append("faults: %s" % report["faults"])
        summary = report["summary"]
        if summary["tasks"] != len(report["tasks"]) or summary["targets"] != len(report["targets"]):
            problems.append("summary counts disagree with the tables")
        transitions = sum(sum(t["transitions"].values()) for t in report["tasks"])
        if summary["transitions"] != transitions:
            problems.append("summary.transitions %d, tables %d" % (summary["transitions"], transitions))
        calls = sum(t["calls"] for t in report["targets"])
        leaves = sum(t["transitions"]["leave"] for t in report["tasks"])
        if report["profiling"] and calls != leaves:
            problems.append("target calls %d != LeaveRuntime calls %d" % (calls, leaves))
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
    print("%s: valid (%d tasks, %d targets)" % (argv[2], len(report["tasks"]), len(report["targets"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

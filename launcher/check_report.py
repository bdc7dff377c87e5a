#!/usr/bin/env python3
"""Validates hosttask-host --json output against launcher/report.schema.json.

usage: check_report.py SCHEMA REPORT [--simulated] [--scheduler=SLOTS] [--forced-yields]

With --simulated, also requires what a simulated run promises: the
cross-check ran and passed, no faults, the summary agrees with the tasks
and targets, and the scheduler's totals are its tasks' sums.
--scheduler=SLOTS requires cooperative mode with SLOTS slots (0:
thread-per-task mode).  --forced-yields requires runaways: forced yields,
punishments and (simulated) ICLRTask::YieldTask calls, all above zero.
Uses Debian's python3-jsonschema.
"""
import json
import math
import sys

import jsonschema


def p99_ns(scheduler):
    """What the report computes: the top of the histogram bucket the 99th
    percentile falls in, capped at the longest wait."""
    histogram = scheduler["waitHistogram"]
    total = sum(histogram)
    if not total:
        return 0
    rank = max(1, math.ceil(0.99 * total))
    seen = 0
    for i, count in enumerate(histogram[:-1]):
        seen += count
        if seen >= rank:
            return min((2 << i) - 1, scheduler["maxWaitNs"])
    return scheduler["maxWaitNs"]


def scheduler_problems(report):
    problems = []
    scheduler = report["scheduler"]
    tasks = report["tasks"]
    summary = report["summary"]
    for key in ("slotAcquisitions", "slotWaitNs", "forcedYields"):
        total = sum(t[key] for t in tasks)
        if summary[key] != total:
            problems.append("summary.%s %d, tables %d" % (key, summary[key], total))
    for t in tasks:
        clr = t["clr"]
        if clr is not None and clr["safePointYields"] > clr["yieldTaskCalls"]:
            problems.append("task %d: %d safe-point yields for %d YieldTask calls"
                            % (t["taskId"], clr["safePointYields"], clr["yieldTaskCalls"]))
    if scheduler["mode"] == "thread-per-task":
        for t in tasks:
            clr = t["clr"] or {"yieldTaskCalls": 0}
            if t["slotAcquisitions"] or t["slotWaitNs"] or t["forcedYields"] or t["holdsSlot"] or clr["yieldTaskCalls"]:
                problems.append("task %d has slot counts in thread-per-task mode" % t["taskId"])
        return problems
    # The scheduler's totals are its tasks' sums, exactly.
    pairs = (("acquisitions", "slotAcquisitions"), ("forcedYields", "forcedYields"), ("waitNs", "slotWaitNs"))
    for total_key, task_key in pairs:
        total = sum(t[task_key] for t in tasks)
        if scheduler[total_key] != total:
            problems.append("scheduler.%s %d, its tasks add up to %d" % (total_key, scheduler[total_key], total))
    held = sum(1 for t in tasks if t["holdsSlot"])
    if scheduler["held"] != held:
        problems.append("scheduler.held %d, %d tasks hold a slot" % (scheduler["held"], held))
    if sum(scheduler["waitHistogram"]) != scheduler["waits"]:
        problems.append("scheduler.waitHistogram adds up to %d, waits %d"
                        % (sum(scheduler["waitHistogram"]), scheduler["waits"]))
    if scheduler["waits"] > scheduler["acquisitions"] or scheduler["punishments"] > scheduler["forcedYields"]:
        problems.append("scheduler: more waits than acquisitions or more punishments than forced yields")
    if scheduler["retakes"] > scheduler["acquisitions"] or (not scheduler["retakes"] and scheduler["nativeHoldNs"]):
        problems.append("scheduler: %d retakes (%d ns in native code) for %d acquisitions"
                        % (scheduler["retakes"], scheduler["nativeHoldNs"], scheduler["acquisitions"]))
    if scheduler["waiting"]:
        problems.append("scheduler.waiting %d with every thread done" % scheduler["waiting"])
    if scheduler["p99WaitNs"] != p99_ns(scheduler) or scheduler["p99WaitNs"] > scheduler["maxWaitNs"]:
        problems.append("scheduler.p99WaitNs %d, the histogram gives %d" % (scheduler["p99WaitNs"], p99_ns(scheduler)))
    if scheduler["maxWaitNs"] > scheduler["waitNs"]:
        problems.append("scheduler.maxWaitNs is more than all waits together")
    for t in tasks:
        if t["clr"] is not None and t["forcedYields"] < t["clr"]["yieldTaskCalls"]:
            problems.append("task %d: %d forced yields counted, %d YieldTask calls made"
                            % (t["taskId"], t["forcedYields"], t["clr"]["yieldTaskCalls"]))
    return problems


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    options = [a for a in argv[1:] if a.startswith("--")]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        schema = json.load(f)
    with open(args[1]) as f:
        report = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(report), key=lambda e: list(e.path))
    for error in errors:
        print("%s: %s" % ("/".join(str(p) for p in error.path) or "(root)", error.message), file=sys.stderr)
    if errors:
        return 1
    problems = []
    if "--simulated" in options:
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
        # A target's call is counted when its EnterRuntime closes it: the
        # LeaveRuntimes still open (the AD-unload helper's LeaveRuntime(0)
        # and the waits the runtime's own threads sit in) are not calls yet.
        calls = sum(t["calls"] for t in report["targets"])
        leaves = sum(t["transitions"]["leave"] for t in report["tasks"])
        open_frames = sum(t["depth"] for t in report["tasks"])
        if report["profiling"] and calls + open_frames != leaves:
            problems.append("target calls %d + %d open != LeaveRuntime calls %d" % (calls, open_frames, leaves))
        # The runtime's own threads are there, named for what they are.
        roles = [t["role"] for t in report["tasks"]]
        for word in ("finalizer", "unload"):
            if not any(word in role for role in roles):
                problems.append("no task with a role naming the %s" % word)
        problems += scheduler_problems(report)
    scheduler = report["scheduler"]
    for option in options:
        if option.startswith("--scheduler="):
            slots = int(option.split("=", 1)[1])
            mode = "cooperative" if slots else "thread-per-task"
            if scheduler["mode"] != mode or scheduler["slots"] != slots:
                problems.append("scheduler: %s with %d slots, expected %s with %d"
                                % (scheduler["mode"], scheduler["slots"], mode, slots))
        elif option == "--forced-yields":
            yield_calls = sum((t["clr"] or {"yieldTaskCalls": 0})["yieldTaskCalls"] for t in report["tasks"])
            if not (scheduler["forcedYields"] > 0 and scheduler["punishments"] > 0):
                problems.append("no runaway was forced to yield: %d forced yields, %d punishments"
                                % (scheduler["forcedYields"], scheduler["punishments"]))
            if report["runtime"]["kind"] == "simulated" and not yield_calls:
                problems.append("no ICLRTask::YieldTask call reached the CLR")
        elif option != "--simulated":
            problems.append("unknown option %s" % option)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("%s: valid (%d tasks, %d targets, %s)" % (args[1], len(report["tasks"]), len(report["targets"]),
                                                   "thread-per-task" if not scheduler["slots"]
                                                   else "%d slots, %d forced yields" % (scheduler["slots"],
                                                                                        scheduler["forcedYields"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

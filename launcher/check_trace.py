#!/usr/bin/env python3
"""Validates hosttask-host --trace output against launcher/trace.schema.json
and holds it against the report of the same run (hosttask-host --json).

usage: check_trace.py SCHEMA TRACE REPORT [--checked] [--yield-requests] [--pinvoke-run=N]

Beyond the schema: one track per task of the report, named by its role;
spans on a track nest (Chrome's complete events must); per task, as many
P/Invoke spans as LeaveRuntime calls, callbacks as ReverseEnterRuntime
calls, Join waits as joins, yield requests as forced yields; as many slot
waits as the scheduler counted; per target as many P/Invokes as the
report's calls (when profiling).  --checked requires that the launcher held
the trace against the CLR-style driver and found it matching.
--yield-requests requires at least one yield request.  --pinvoke-run=N
holds a run of the driver's pinvoke workload (N P/Invokes of GetTickCount
on the calling thread) event for event: on the workload's track its start,
the runtime-start wait for the finalizer, then exactly N P/Invoke spans of
kernel32.dll!GetTickCount one after the other, and no other event; every
other track is one of the runtime's own threads.  Exits 1 on any problem.  Uses Debian's python3-jsonschema.
"""
import json
import sys
from collections import Counter, defaultdict

import jsonschema


def problems_of(trace, report, checked, yield_requests):
    problems = []
    events = trace["traceEvents"]
    other = trace["otherData"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    spans = defaultdict(list)
    instants = defaultdict(Counter)
    for e in events:
        if e["ph"] == "X":
            spans[e["tid"]].append(e)
        elif e["ph"] == "i":
            instants[e["tid"]][e["name"]] += 1

    if other["trace"]["dropped"]:
        problems.append("%d events dropped: the run does not fit the buffers" % other["trace"]["dropped"])
    if checked and not (other["trace"]["checked"] and other["trace"]["mismatches"] == 0):
        problems.append("the launcher's check against the driver did not pass: %s" % other["trace"])

    for task in report["tasks"]:
        tid = task["taskId"]
        if tid not in names:
            problems.append("task %d: no track" % tid)
            continue
        if task["role"] and not names[tid].startswith(task["role"] + " (thread 0x%x)" % task["threadId"]):
            problems.append("task %d: track named %r, role %r" % (tid, names[tid], task["role"]))
        by_cat = Counter(e["cat"] for e in spans[tid])
        joins = sum(1 for e in spans[tid] if e["cat"] == "host-wait" and e["name"].startswith("Join"))
        expected = (("pinvoke", by_cat["pinvoke"], task["transitions"]["leave"]),
                    ("callback", by_cat["callback"], task["transitions"]["reverseEnter"]),
                    ("Join", joins, task["joins"]),
                    ("yield request", instants[tid]["yield request"], task["forcedYields"]))
        for what, traced, counted in expected:
            # A live task records the yield requests made of it when it next
            # gives its slot back (src/scheduler.c, take_untraced).
            if what == "yield request" and not task["ended"] and traced <= counted:
                continue
            if traced != counted:
                problems.append("task %d (%s): %d %s in the trace, the report counts %d"
                                % (tid, names[tid], traced, what, counted))
        # Complete events on one track nest: each lies within the one open
        # around it, and depth says how many are.
        stack = []
        for e in sorted(spans[tid], key=lambda e: (e["ts"], -e["dur"], e["args"]["depth"])):
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] and not (
                    e["dur"] == 0 and e["ts"] == stack[-1]["ts"] + stack[-1]["dur"] and stack[-1]["dur"] == 0):
                stack.pop()
            if stack and e["ts"] + e["dur"] > stack[-1]["ts"] + stack[-1]["dur"] + 0.0015:
                problems.append("task %d: %s at %.3f us overlaps %s without nesting"
                                % (tid, e["name"], e["ts"], stack[-1]["name"]))
                break
            stack.append(e)
    if len(names) != len(report["tasks"]):
        problems.append("%d tracks, %d tasks in the report" % (len(names), len(report["tasks"])))

    scheduler = report["scheduler"]
    slot_waits = sum(1 for tid in spans for e in spans[tid] if e["cat"] == "slot-wait")
    if scheduler["mode"] == "cooperative" and slot_waits != scheduler["waits"]:
        problems.append("%d slot waits in the trace, the scheduler counted %d" % (slot_waits, scheduler["waits"]))
    preemptions = sum(c["preemption"] for c in instants.values())
    live = any(not task["ended"] for task in report["tasks"])
    if preemptions > scheduler["preemptions"] or (not live and preemptions != scheduler["preemptions"]):
        problems.append("%d preemptions in the trace, the scheduler counted %d" % (preemptions, scheduler["preemptions"]))
    if yield_requests and not any(c["yield request"] for c in instants.values()):
        problems.append("no yield request in the trace")
    if report["profiling"]:
        # Profiling counts a call when it returns (EnterRuntime), so only
        # finished spans count.  The runtime's own threads (finalizer,
        # AD-unload helper) go on while the report and the trace are taken
        # one after the other: each may have one call of a target on one
        # side only, as the launcher's own check allows (launcher/report.c).
        runtime = {tid for tid, name in names.items() if "finalizer" in name or "unload" in name}
        calls = Counter()
        slack = defaultdict(set)
        for tid in spans:
            for e in spans[tid]:
                if e["cat"] != "pinvoke":
                    continue
                address = int(e["args"]["target"], 16)
                if tid in runtime:
                    slack[address].add(tid)
                if not e["args"]["unfinished"]:
                    calls[address] += 1
        for target in report["targets"]:
            address = int(target["address"], 16)
            if abs(calls[address] - target["calls"]) > len(slack[address]):
                problems.append("target %s: %d finished P/Invokes in the trace, %d calls in the report"
                                % (target["symbol"], calls[address], target["calls"]))
    return problems


def pinvoke_run_problems(trace, n):
    """The workload's own thread, event for event.  The runtime's own
    threads (the finalizer and the AD-unload helper, dotnet/coreclr@ef1e2ab3
    src/vm/ceemain.cpp (EEStartupHelper)) run beside it: they must have
    their roles, and are held by the launcher's driver check, not here."""
    problems = []
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}
    mains = [tid for tid, name in names.items() if name.startswith("main ")]
    others = [name for tid, name in names.items() if tid not in mains]
    if len(mains) != 1:
        return ["%d tracks named main, the pinvoke workload runs on one thread" % len(mains)]
    for name in others:
        if "finalizer" not in name and "unload" not in name:
            problems.append("track %s: neither the workload's thread nor one of the runtime's own" % name)
    events = [e for e in trace["traceEvents"] if e["ph"] != "M" and e["tid"] == mains[0]]
    # In the order they happened: the start, the runtime-start wait for the
    # finalizer (LeaveRuntime(&WaitForMultipleObjectsEx), finalizerthread.cpp
    # (FinalizerThreadCreate) -> FinalizerThreadWait), then each P/Invoke.
    events.sort(key=lambda e: e["ts"])
    if not events or events[0]["ph"] != "i" or events[0]["name"] != "task start":
        problems.append("the track does not begin with its start")
    if len(events) < 2 or events[1]["ph"] != "X" or events[1]["name"] != "kernel32.dll!WaitForMultipleObjectsEx":
        problems.append("the start is not followed by the runtime's wait for its finalizer")
    spans = events[2:]
    if len(spans) != n:
        problems.append("%d events after the start, the driver made %d P/Invokes" % (len(spans), n))
    end = 0.0
    for i, e in enumerate(spans):
        if e["ph"] != "X" or e["cat"] != "pinvoke" or e["name"] != "kernel32.dll!GetTickCount" \
                or e["args"]["depth"] != 0 or e["args"]["unfinished"]:
            problems.append("event %d: %s %s, expected the P/Invoke of GetTickCount" % (i, e["ph"], e["name"]))
            break
        if e["ts"] < end:
            problems.append("event %d begins before the one before it ended" % i)
            break
        end = e["ts"] + e["dur"]
    # A Leave and an Enter per call, the runtime-start wait's pair included.
    task = [t for t in trace["otherData"]["tasks"] if t["role"] == "main"]
    if len(task) != 1 or task[0]["leave"] != n + 1 or task[0]["enter"] != n + 1:
        problems.append("the main task's transitions are %s, expected %d of each"
                        % ([(t["leave"], t["enter"]) for t in task], n + 1))
    return problems


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        print(__doc__)
        return 2
    with open(args[0], encoding="utf-8") as f:
        schema = json.load(f)
    with open(args[1], encoding="utf-8") as f:
        trace = json.load(f)
    with open(args[2], encoding="utf-8") as f:
        report = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(trace), key=lambda e: list(e.path))
    for error in errors[:10]:
        print("schema: %s: %s" % ("/".join(str(p) for p in error.path), error.message[:300]))
    problems = problems_of(trace, report, "--checked" in argv, "--yield-requests" in argv)
    for a in argv:
        if a.startswith("--pinvoke-run="):
            problems.extend(pinvoke_run_problems(trace, int(a.split("=", 1)[1])))
    for problem in problems:
        print("trace: " + problem)
    if errors or problems:
        return 1
    spans = sum(1 for e in trace["traceEvents"] if e["ph"] == "X")
    print("check_trace: %s valid, %d spans on %d tracks, matching the report" % (
        args[1], spans, sum(1 for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

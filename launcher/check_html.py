#!/usr/bin/env python3
"""Opens hosttask-host --html output in headless Chromium (Debian's
chromium package) and checks it.

usage: check_html.py PAGE TRACE SCREENSHOT [--width=PX] [--height=PX]

Fails when the page refers to anything outside itself (a script, style
sheet, font or image by URL), when Chromium logs any console message
while loading it (an error in the page), or when the timeline does not
have one row per task: as many as the tracks of TRACE, the --trace file of
the same run.  Writes Chromium's screenshot of the page to SCREENSHOT.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run(browser, profile, args, page):
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"]
    result = subprocess.run(command + args + ["file://" + os.path.abspath(page)], capture_output=True,
                            text=True, timeout=180)
    return result


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    options = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
    if len(args) != 3:
        print(__doc__)
        return 2
    page, trace_path, screenshot = args
    problems = []
    with open(page, encoding="utf-8") as f:
        html = f.read()
    with open(trace_path, encoding="utf-8") as f:
        trace = json.load(f)
    tracks = sum(1 for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name")

    # Self-contained: nothing fetched from anywhere.
    for pattern in (r"<script", r"<link", r"<img", r"<iframe", r"\bsrc\s*=", r"\bhref\s*=", r"url\(", r"@import",
                    r"@font-face", r"https?:", r"//[a-z0-9.-]+\.[a-z]{2,}/"):
        if re.search(pattern, html, re.IGNORECASE):
            problems.append("the page refers outside itself: %r" % pattern)

    browser = chromium()
    if not browser:
        print("check_html: no chromium (Debian: chromium)")
        return 1
    profile = tempfile.mkdtemp(prefix="ht-chromium-")
    try:
        dom = run(browser, profile, ["--dump-dom"], page)
        console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
        problems.extend("console: " + line for line in console)
        if dom.returncode:
            problems.append("chromium --dump-dom exited %d" % dom.returncode)
        rows = len(re.findall(r'<g class="task-row"', dom.stdout))
        bars = len(re.findall(r"<rect class=", dom.stdout))
        if rows != tracks or not tracks:
            problems.append("%d timeline rows in the page Chromium loaded, %d tasks in the trace" % (rows, tracks))
        if not bars:
            problems.append("no bar in the timeline")
        if os.path.exists(screenshot):
            os.remove(screenshot)
        size = "%s,%s" % (options.get("width", "1300"), options.get("height", "720"))
        shot = run(browser, profile, ["--hide-scrollbars", "--window-size=" + size, "--screenshot=" + screenshot], page)
        problems.extend("console: " + line for line in shot.stderr.splitlines() if ":CONSOLE" in line)
        try:
            with open(screenshot, "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    problems.append("the screenshot is no PNG")
        except OSError as error:
            problems.append("no screenshot: %s" % error)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    for problem in problems:
        print("html: " + problem)
    if problems:
        return 1
    print("check_html: %s loads with no console message, %d timeline rows (%d bars), screenshot %s"
          % (page, rows, bars, screenshot))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

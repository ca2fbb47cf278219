#!/usr/bin/env python3
"""Names the Swift Testing tests a log shows started and never finished (scripts/test.sh prints them when a
test run passes its deadline, so a hung test is named instead of using up CI's time in silence)."""
import re
import sys

STARTED = re.compile(r'^◇ Test ("(?:[^"\\]|\\.)*"|\S+) started\.$')
FINISHED = re.compile(r'^[✔✘] Test ("(?:[^"\\]|\\.)*"|\S+) (?:passed|failed|with \d+ test cases? (?:passed|failed)|skipped)')

running = {}
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        line = line.rstrip("\n")
        if line.startswith("◇ Test run started"):
            continue
        if match := STARTED.match(line):
            running[match.group(1)] = True
        elif match := FINISHED.match(line):
            running.pop(match.group(1), None)
for name in running:
    print(f"  still running: {name}")
if not running:
    print("  (no test was running: the process hung before, between or after its tests)")

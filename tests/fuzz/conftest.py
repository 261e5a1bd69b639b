"""Counts fuzz cases per class, and failures per kind, for the summary line."""
from __future__ import annotations

from collections import Counter

from tests.fuzz import harness

RAN: Counter = Counter()
FAILED: Counter = Counter()
KINDS: Counter = Counter()


def _cls(nodeid: str) -> str | None:
    if "test_fuzz.py::test_case[" in nodeid:
        return nodeid.split("[", 1)[1].split("-", 1)[0]
    if "test_faults.py::" in nodeid:
        return "procs"
    return None


def pytest_runtest_logreport(report):
    cls = _cls(report.nodeid)
    if cls is None or report.when != "call" and not (report.when == "setup" and report.failed):
        return
    RAN[cls] += 1
    if report.failed:
        FAILED[cls] += 1
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)
        for kind in (harness.TRACEBACK, harness.TOUCHED, harness.LOST, harness.PARTIAL, harness.SENTENCE,
                     harness.CODE, harness.ORPHAN):
            if kind in text:
                KINDS[kind] += 1


def pytest_terminal_summary(terminalreporter):
    if not RAN:
        return
    tr = terminalreporter
    tr.section("fuzz and fault cases")
    for cls in sorted(RAN):
        tr.write_line(f"{cls:>6}: {RAN[cls]:4d} cases, {FAILED[cls]} failed")
    tr.write_line(f" total: {sum(RAN.values()):4d} cases; tracebacks {KINDS[harness.TRACEBACK]}, "
                  f"paths touched outside the target {KINDS[harness.TOUCHED]}, lost records {KINDS[harness.LOST]}, "
                  f"orphaned processes {KINDS[harness.ORPHAN]}, "
                  f"partial files {KINDS[harness.PARTIAL]}, not one sentence {KINDS[harness.SENTENCE]}, "
                  f"wrong exit code {KINDS[harness.CODE]}")

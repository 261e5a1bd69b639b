"""Issue [7] units: outputs never replace what lqmf did not write, the journal
never loses a record, bounded numbers, unique backups, escaped LIKE, the
shared cache waits, degenerate plots."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from lqmf.tools.errors import DataDirUnusable, InvalidInput, OutputInTheWay


def test_atomic_output_refuses_folder_device_link_and_foreign_file(tmp_path):
    from lqmf.tools.fsutil import atomic_output

    folder = tmp_path / "proj"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text("mine")
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    os.symlink(other, tmp_path / "link")
    for target, word in ((folder, "folder"), (Path("/dev/full"), "device"), (tmp_path / "link", "link"),
                         (other, "--force")):
        with pytest.raises(OutputInTheWay, match=word):
            with atomic_output(target) as tmp:
                tmp.write_text("new")
    assert (folder / "src" / "main.py").read_text() == "mine" and other.read_text() == "mine"
    with atomic_output(other, replace_file=True) as tmp:  # --force
        tmp.write_text("new")
    assert other.read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_a_folder_that_appears_while_writing_is_not_replaced(tmp_path):
    from lqmf.tools.fsutil import atomic_output

    target = tmp_path / "out.csv"
    with pytest.raises(OutputInTheWay):
        with atomic_output(target) as tmp:
            tmp.write_text("x")
            target.mkdir()
            (target / "keep").write_text("mine")
    assert (target / "keep").read_text() == "mine"


def test_full_disk_is_one_sentence_and_nothing_partial(tmp_path, monkeypatch):
    """The disk is faked full at the edge we do not own (os.replace raising ENOSPC)."""
    import errno

    from lqmf.tools import fsutil
    from lqmf.tools.errors import NotEnoughDisk

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device", str(a[0]))

    monkeypatch.setattr(fsutil.os, "replace", full)
    with pytest.raises(NotEnoughDisk, match="disk filled up while writing .*out.csv"):
        with fsutil.atomic_output(tmp_path / "out.csv") as tmp:
            tmp.write_text("x")
    assert list(tmp_path.iterdir()) == []


def test_journal_append_after_a_torn_line_and_bad_lines_kept_aside(tmp_path, capsys):
    from lqmf.tools.store.records import ExperimentRecord
    from lqmf.tools.store.journal import JsonlStore, rejected_path

    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"kind": "quantize", "status": "succ')
    store = JsonlStore(path)
    store.add(ExperimentRecord(kind="quantize", status="succeeded", model="a"))
    with open(path, "a") as f:
        f.write('[1,2]\n{"kind": 5, "status": "x", "model": "y"}\n')
    store.add(ExperimentRecord(kind="quantize", status="succeeded", model="b"))
    assert [r.model for r in store.all()] == ["a", "b"]
    assert [r.model for r in store.all()] == ["a", "b"]
    err = capsys.readouterr().err
    assert err.count("warning: skipped") == 3 and "line 1" in err and "line 3" in err and "line 4" in err
    kept = [json.loads(ln) for ln in rejected_path(path).read_text().splitlines()]
    assert [k["line"] for k in kept] == [1, 3, 4]  # once each, though read twice


def test_data_dir_that_is_a_file_or_unwritable(tmp_path, monkeypatch):
    from lqmf.tools.config import data_dir

    f = tmp_path / "file"
    f.write_text("x")
    for bad in (f, f / "sub", Path("/sys/lqmf-test"), Path("/sys")):
        monkeypatch.setenv("LQMF_HOME", str(bad))
        with pytest.raises(DataDirUnusable, match="LQMF_HOME"):
            data_dir()


@pytest.mark.parametrize("knob,value", [("chunks", 0), ("ctx", 0), ("ctx", 100_000_000), ("threads", -1),
                                        ("threads", 100_000), ("limit", 0), ("max-jobs", -1), ("cores", 9999),
                                        ("chunks", "nan"), ("chunks", 1.5)])
def test_limits(knob, value):
    from lqmf.tools.limits import Knob, check

    with pytest.raises(InvalidInput):
        check(Knob(knob), value)


def test_at_far_future_and_at_without_queue():
    from lqmf.tools.scheduler.timeparse import parse_when

    with pytest.raises(InvalidInput, match="days away"):
        parse_when("in 1000000000 hours")
    with pytest.raises(InvalidInput, match="days away"):
        parse_when("9999-12-31T00:00")


def test_unique_backup_names(tmp_path):
    from lqmf.tools.fsutil import unique_aside

    db = tmp_path / "jobs.db"
    first = unique_aside(db, "corrupt")
    first.write_text("first backup")
    second = unique_aside(db, "corrupt")
    assert second != first and not second.exists()


def test_job_id_prefix_is_not_a_like_pattern(tmp_path, monkeypatch):
    from lqmf.tools import scheduler
    from lqmf.tools.errors import JobNotFound

    monkeypatch.setenv("LQMF_HOME", str(tmp_path))
    jid = scheduler.submit("noop", {})
    store = scheduler.JobStore()
    try:
        assert store.get(jid[:4]).id == jid
        for pattern in ("%", "_", "%" + jid[-4:], "_" + jid[1:]):
            with pytest.raises(JobNotFound):
                store.get(pattern)
    finally:
        store.close()


def test_shared_cache_entry_is_waited_for_not_refused(tmp_path, monkeypatch):
    from lqmf.tools.config import cache_dir
    from lqmf.tools.errors import ArtifactBusy
    from lqmf.tools.fsutil import exclusive

    monkeypatch.setenv("LQMF_HOME", str(tmp_path))
    entry = cache_dir() / "f16" / "x.F16.gguf"
    held = threading.Event()

    def holder():
        with exclusive(entry):
            held.set()
            time.sleep(0.5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait()
    t0 = time.monotonic()
    with exclusive(entry):  # waits for the holder instead of "another run is writing"
        waited = time.monotonic() - t0
    t.join()
    assert waited > 0.3
    out = tmp_path / "mine" / "a.gguf"  # a user's output busy elsewhere is still refused
    result = []

    def second():
        try:
            with exclusive(out):
                result.append("entered")
        except ArtifactBusy:
            result.append("busy")

    with exclusive(out):
        th = threading.Thread(target=second)
        th.start()
        th.join(5)
    assert result == ["busy"]


def test_plot_with_every_point_the_same_size():
    from lqmf.copilot.render_plots import plot
    from lqmf.tools.store.records import ExperimentRecord

    recs = [ExperimentRecord(kind="benchmark", status="succeeded", model="m", quant_type=q, size_bytes=100,
                             kld_mean=k) for q, k in (("Q4_K_M", 0.1), ("Q8_0", 0.01))]
    assert "same size" in plot(recs, "size-kld")


def test_control_characters_are_escaped_in_errors(capsys):
    from lqmf.copilot.cli import main

    assert main(["quantize", "smoll\x01m2", "--type", "Q8_0"]) == 2
    err = capsys.readouterr().err
    assert "\x01" not in err and "\\x01" in err

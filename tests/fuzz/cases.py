"""The fuzz table: every subcommand × every numeric or path argument × bad
values; unusable data dirs; corrupt data files. Each row is one Case."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.fuzz.harness import Case, no_jobs

# ---- argument values ------------------------------------------------------------
INT_BAD = ["0", "-1", "-5", "1000000000", "99999999999999999999999", "", " ", "abc", "nan", "inf",
           "-inf", "1.5", "1e400", "0x10", "½"]
INT0_BAD = ["-1", "-5", "100000", "99999999999999999999999", "", "abc", "nan", "inf", "1.5", "1e400"]
FLOAT_BAD = ["-1", "-0.5", "", " ", "abc", "nan", "inf", "-inf", "1e400", "1e12"]
RAM_BAD = ["0", "-1", "lots", "", "0%", "101%", "-5%", "1000T", "1K", "nan%"]
AT_BAD = ["in 1000000000 hours", "in 99999999 days", "bogus o'clock", "9999-99-99", "25:61", "in -3 hours",
          "99999-01-01T00:00"]
AT_WITHOUT_QUEUE = ["tonight", "02:00", "in 2 hours"]

# (command, fixed args before the option, option, bad values)
NUMERIC: list[tuple[str, list[str], str, list[str]]] = [
    ("bench", ["smollm2"], "--chunks", INT_BAD),
    ("bench", ["smollm2"], "--ctx", INT_BAD + ["15", "131073", "16000"]),
    ("bench", ["smollm2"], "--threads", INT_BAD + ["100000"]),
    ("sweep", ["smollm2", "--type", "Q8_0"], "--chunks", INT_BAD),
    ("sweep", ["smollm2", "--type", "Q8_0"], "--max-kld", FLOAT_BAD),
    ("worker", ["--drain"], "--max-jobs", INT_BAD),
    ("worker", ["--drain"], "--cores", INT_BAD + ["9999"]),
    ("worker", ["--drain"], "--ram-budget", RAM_BAD),
    ("query", [], "--limit", INT_BAD),
    ("query", [], "--bits", INT_BAD + ["33"]),
    ("query", [], "--since-days", INT0_BAD),
    ("query", [], "--max-size-gb", FLOAT_BAD),
    ("query", [], "--min-tok-s", FLOAT_BAD),
    ("quantize", ["smollm2", "--type", "Q8_0", "--queue"], "--at", AT_BAD),
    ("bench", ["smollm2", "--queue"], "--at", AT_BAD),
    ("sweep", ["smollm2", "--type", "Q8_0"], "--at", AT_BAD),
    ("quantize", ["smollm2", "--type", "Q8_0"], "--at", AT_WITHOUT_QUEUE),
    ("bench", ["smollm2"], "--at", AT_WITHOUT_QUEUE),
    ("jobs", [], "--state", ["bogus", "", "RUNNING!", "queued;drop"]),
    ("query", [], "--plot", ["bogus", ""]),
    ("query", [], "--sort", ["bogus"]),
    ("parse", ["hello"], "--mode", ["bogus", ""]),
    ("quantize", ["smollm2"], "--type", ["", ",", " , ", "Q99", "q4_k_m_x", "F16;rm"]),
    ("quantize", ["smollm2", "--type", "Q4_K_M"], "--method", ["bogus", "", "gptq", "bnb"]),
    ("bench", ["smollm2"], "--type", ["Q99", ",,", "NF4x"]),
    ("sweep", ["smollm2", "--type", "Q8_0"], "--method", ["bogus"]),
    ("sweep", ["smollm2", "--type", "Q8_0"], "--pick", ["bogus"]),
    ("quantize", ["smollm2", "--type", "Q8_0"], "--priority", ["urgent"]),
    ("recommend", ["chat"], "--vram", FLOAT_BAD + ["0"]),
    ("recommend", ["chat"], "--ram", FLOAT_BAD + ["0"]),
    ("recommend", ["chat"], "--ctx", INT_BAD),
    ("recommend", ["chat"], "--limit", INT_BAD),
    ("recommend", ["chat"], "--min-tok-s", FLOAT_BAD),
    ("recommend", ["chat"], "--device", ["", "toaster", "\x1b[31m"]),
    ("recommend", [], "--model", ["", "nope-7b", "../../etc"]),
]


def _arg_cases() -> list[Case]:
    cases = []
    for cmd, fixed, opt, values in NUMERIC:
        for v in values:
            name = f"{cmd}{opt}={v!r}"
            cases.append(Case("args", name, [cmd, *fixed, f"{opt}={v}" if v.startswith("-") else opt,
                                             *([] if v.startswith("-") else [v])], check=no_jobs))
    # commands without their required parts
    for argv in (["quantize"], ["quantize", "smollm2"], ["bench"], ["compare"], ["compare", "a"],
                 ["export"], ["export", "--csv", "a.csv", "--parquet", "b.parquet"], ["parse"],
                 ["jobs", "show"], ["jobs", "cancel"], ["jobs", "retry"], ["jobs", "bogus"],
                 ["sweep"], ["sweep", "smollm2"], ["nosuchcommand"], ["quantize", "--type", "Q8_0", ""],
                 ["bench", ""], ["quantize", "smollm2", "--type"], ["query", "--limit"]):
        cases.append(Case("args", "missing:" + " ".join(argv), argv, check=no_jobs))
    return cases


# ---- output paths ---------------------------------------------------------------
def _long(n: int) -> str:
    return "x" * n


# (name, path under the sandbox or absolute, expected fragment of the error)
OUT_PATHS: list[tuple[str, str, str | None]] = [
    ("folder", "{sb}/myproject", "folder"),
    ("dot", ".", "folder"),
    ("root", "/", "folder"),
    ("dotdot", "..", "folder"),
    ("sandbox-dotdot", "{sb}/work/..", "folder"),
    ("empty", "", None),
    ("blank", "  ", None),
    ("dev-full", "/dev/full", "device"),
    ("dev-null", "/dev/null", "device"),
    ("fifo", "{sb}/pipe", "special"),
    ("symlink", "{sb}/link.csv", "link"),
    ("existing-file", "{sb}/existing.csv", "--force"),
    ("existing-source", "{sb}/myproject/src/main.py", "--force"),
    ("file-as-folder", "{sb}/keep.txt/out.csv", "not a folder"),
    ("long-name", "{sb}/" + _long(300) + ".csv", "too long"),
    ("long-path", "{sb}/" + "/".join([_long(200)] * 25) + "/x.csv", "too long"),
    ("sysfs", "/sys/lqmf-fuzz.csv", None),
    ("no-parent", "/proc/nonexistent-lqmf/x.csv", None),
    ("control-chars", "{sb}/keep.txt/a\x01b.csv", "\\x01"),
]


def _fmt(path: str, sb: Path) -> str:
    return path.replace("{sb}", str(sb))


def _path_cases() -> list[Case]:
    cases = []
    for flag in ("--csv", "--parquet"):
        for name, path, says in OUT_PATHS:
            cases.append(Case("paths", f"export{flag}:{name}",
                              lambda sb, p=path, f=flag: ["export", f, _fmt(p, sb)], says=says))
    for name, path, says in OUT_PATHS:
        if name in ("empty", "blank", "folder", "dot", "root", "dotdot", "sandbox-dotdot"):
            continue  # --out is a folder: an existing folder is a valid place for the artifact
        cases.append(Case("paths", f"quantize--out:{name}",
                          lambda sb, p=path: ["quantize", "smollm2", "--type", "Q8_0", "--out", _fmt(p, sb)]))

    def artifact_folder(sb: Path, home: Path) -> None:
        (sb / "outx" / "smollm2.Q8_0.gguf").mkdir(parents=True)
        (sb / "outx" / "smollm2.Q8_0.gguf" / "notes.txt").write_text("mine\n")

    def artifact_file(sb: Path, home: Path) -> None:
        (sb / "outx").mkdir()
        (sb / "outx" / "smollm2.Q8_0.gguf").write_text("my own file, not an lqmf artifact\n")

    cases.append(Case("paths", "quantize--out:artifact-is-a-folder",
                      lambda sb: ["quantize", "smollm2", "--type", "Q8_0", "--out", str(sb / "outx")],
                      setup=artifact_folder, says="folder"))
    cases.append(Case("paths", "quantize--out:artifact-is-someones-file",
                      lambda sb: ["quantize", "smollm2", "--type", "Q8_0", "--out", str(sb / "outx")],
                      setup=artifact_file, says="--force"))
    # reading paths
    for name, path in (("folder", "{sb}/myproject"), ("missing", "{sb}/nope.txt"),
                       ("long", "{sb}/" + _long(300)), ("file-as-folder", "{sb}/keep.txt/x")):
        cases.append(Case("paths", f"chat--script:{name}", lambda sb, p=path: ["chat", "--script", _fmt(p, sb)]))
    for name, path in (("folder", "{sb}/myproject"), ("dev-null", "/dev/null"), ("missing", "{sb}/nope.gguf"),
                       ("long", "{sb}/" + _long(300) + ".gguf"), ("long-ref", _long(5000)),
                       ("control-chars", "smoll\x01m2"), ("garbage-gguf", "{sb}/existing.csv"),
                       ("fifo", "{sb}/pipe")):
        for cmd in (["bench"], ["quantize", "--type", "Q8_0"]):
            cases.append(Case("paths", f"{cmd[0]}-model:{name}",
                              lambda sb, p=path, c=cmd: [c[0], _fmt(p, sb), *c[1:]]))
    for bad in ("config-list", "config-int-arch", "config-garbage", "no-weights", "empty-folder"):
        cases.append(Case("paths", f"quantize-hf:{bad}",
                          lambda sb: ["quantize", str(sb / "hf"), "--type", "Q8_0"],
                          setup=lambda sb, home, b=bad: _bad_hf(sb / "hf", b)))
    for t in ("nosuch:Q8_0", "smollm2:Q99", "%", "", "\x1b[31mred"):
        cases.append(Case("paths", f"compare:{t!r}", ["compare", t, "smollm2:Q8_0"]))
    for jid in ("%", "_", "%9036761", "", "\x01", "a" * 5000):
        cases.append(Case("paths", f"jobs-show:{jid[:12]!r}", ["jobs", "show", jid], setup=_one_job))
    return cases


def _bad_hf(folder: Path, how: str) -> None:
    folder.mkdir()
    if how == "empty-folder":
        return
    cfg = {"config-list": [1, 2], "config-int-arch": {"architectures": 5}, "no-weights": {"architectures": ["LlamaForCausalLM"]}}
    if how == "config-garbage":
        (folder / "config.json").write_bytes(b"\x00\xffgarbage")
    else:
        (folder / "config.json").write_text(json.dumps(cfg[how]))
    if how != "no-weights":
        (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")


def _one_job(sb: Path, home: Path) -> None:
    import os
    os.environ["LQMF_HOME"] = str(home)
    from lqmf.tools import scheduler
    scheduler.submit("noop", {})


# ---- unusable data dirs ---------------------------------------------------------
HOMES: list[tuple[str, str]] = [
    ("file", "{sb}/keep.txt"), ("dev-null", "/dev/null"), ("sysfs", "/sys"), ("sysfs-sub", "/sys/lqmf-fuzz"),
    ("under-a-file", "{sb}/keep.txt/home"), ("long", "{sb}/" + _long(300)), ("fifo", "{sb}/pipe"),
]
HOME_COMMANDS: list[list[str]] = [
    ["models"], ["quantize", "smollm2", "--type", "Q8_0"], ["jobs"], ["jobs", "show", "x"], ["query"],
    ["query", "smallest runs"], ["export", "--csv", "{sb}/new.csv"], ["compare", "a:Q8_0", "b:Q8_0"],
    ["bench", "smollm2", "--no-speed"], ["sweep", "smollm2", "--type", "Q8_0"], ["chat", "--script", "{sb}/keep.txt"],
    ["quantize", "smollm2", "--type", "Q8_0", "--queue"],
]


def _home_cases() -> list[Case]:
    cases = []
    for hname, hpath in HOMES:
        for cmd in HOME_COMMANDS:
            cases.append(Case("home", f"{hname}:{' '.join(cmd)[:40]}",
                              lambda sb, c=cmd: [_fmt(a, sb) for a in c],
                              env=lambda sb, home, p=hpath: {"LQMF_HOME": _fmt(p, sb)}, says="LQMF_HOME"))
    return cases


# ---- corrupt data files ---------------------------------------------------------
def _record(model: str) -> str:
    from lqmf.tools.store.records import ExperimentRecord
    return json.dumps(ExperimentRecord(kind="quantize", status="succeeded", model=model,
                                       quant_type="Q8_0").to_dict())


JOURNALS: dict[str, bytes] = {
    "torn-last-line": b'{"kind": "quantize", "status": "succ',
    "json-list": b"[1,2]\n",
    "json-string": b'"str"\n',
    "json-null": b"null\n",
    "wrong-types": b'{"kind": 5, "status": [], "model": {}}\n',
    "missing-fields": b'{"model": "x"}\n',
    "binary-garbage": b"\x00\xff\xfe garbage \x00\n",
    "nul-bytes": b"\x00" * 64 + b"\n",
    "blank-lines": b"\n\n   \n",
    "huge-number": b'{"kind": "quantize", "status": "succeeded", "model": "m", "size_bytes": 1e999}\n',
}


def _journal_setup(bad: bytes):
    def setup(sb: Path, home: Path) -> None:
        # two good records around the bad line, then an append after a torn end
        (home / "records.jsonl").write_bytes(_record("good-one").encode() + b"\n" + bad)
        from lqmf.tools.store.records import ExperimentRecord
        from lqmf.tools.store.journal import JsonlStore
        JsonlStore(home / "records.jsonl").add(ExperimentRecord(kind="quantize", status="succeeded",
                                                                model="good-two", quant_type="Q8_0"))
    return setup


def _two_rows(sb: Path, home: Path, out: str, err: str) -> None:
    from tests.fuzz.harness import LOST
    for m in ("good-one", "good-two"):
        assert m in out, f"{LOST}: record {m} is missing from the output"


def _data_cases() -> list[Case]:
    cases = []
    for name, bad in JOURNALS.items():
        for cmd in (["export", "--csv", "-"], ["query", "--limit", "100", "--json"]):
            cases.append(Case("data", f"journal-{name}:{cmd[0]}", cmd, code=0, setup=_journal_setup(bad),
                              warnings_ok=True, check=_two_rows))
        cases.append(Case("data", f"journal-{name}:compare", ["compare", "good-one:Q8_0", "good-two:Q8_0"],
                          code=(0, 2), setup=_journal_setup(bad), warnings_ok=True))
    jobsdbs = {"garbage": b"\x00garbage" * 100, "text": b"hello\n", "truncated": None, "zero": b""}
    for name, content in jobsdbs.items():
        for cmd in (["jobs"], ["jobs", "show", "x"], ["jobs", "--json"]):
            cases.append(Case("data", f"jobsdb-{name}:{' '.join(cmd)}", cmd, code=(0, 2),
                              setup=lambda sb, home, c=content: _write_db(home / "jobs.db", c), warnings_ok=True))
    for name, content in {"garbage": b"\x00garbage" * 100, "text": b"hello\n", "truncated": None}.items():
        cases.append(Case("data", f"chatdb-{name}", lambda sb: ["chat", "--script", str(sb / "script.txt")],
                          code=0, warnings_ok=True,
                          setup=lambda sb, home, c=content: (_write_db(home / "chat.sqlite", c),
                                                             (sb / "script.txt").write_text("help\n"))))
    for name in ("chroma-garbage", "chroma-is-a-file"):
        cases.append(Case("data", f"store-{name}:query", ["query", "--json"], code=(0, 2), warnings_ok=True,
                          setup=lambda sb, home, n=name: _bad_chroma(home, n)))
    return cases


def _write_db(path: Path, content: bytes | None) -> None:
    if content is not None:
        path.write_bytes(content)
        return
    con = sqlite3.connect(path)  # a real database, then cut in half
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    con.commit()
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_chroma(home: Path, how: str) -> None:
    (home / "records.jsonl").write_text(_record("good-one") + "\n")
    if how == "chroma-is-a-file":
        (home / "chroma").write_text("not a folder\n")
    else:
        (home / "chroma").mkdir()
        (home / "chroma" / "chroma.sqlite3").write_bytes(b"\x00garbage" * 200)


def all_cases() -> list[Case]:
    cases = _arg_cases() + _path_cases() + _home_cases() + _data_cases()
    for i, c in enumerate(cases):  # every 12th case also as a real subprocess
        if i % 12 == 0:
            c.subprocess = True
    return cases

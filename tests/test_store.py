"""The experiment store on real Chroma (embedded and a loopback server), real embeddings."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.store_fixtures import ChromaServer, free_port, rec, sample_records
from lqmf.tools.store import experiments as store_mod
from lqmf.tools.store import schema as store_schema
from lqmf.tools.errors import StoreCorrupt, StoreLocked, StoreUnreachable
from lqmf.tools.store.journal import JsonlStore
from lqmf.tools.store.records import ExperimentRecord
from lqmf.tools.store.experiments import default_store
from lqmf.tools.store.experiments import ChromaStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LQMF_CHROMA_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    yield srv
    srv.stop()


def test_record_round_trips_exactly_and_chroma_keeps_only_the_sentence(home):
    st = default_store()
    assert isinstance(st, ChromaStore)
    r = rec("smollm2", "Q4_K_M", tool_versions={"llama-cpp-python": "0.3.36"}, ctx=512,
            source_sha256="ab" * 32, error=None)
    st.add(r)
    back = st.get([r.id])[0]
    assert back == r                                   # exact, every field
    # the side index answers filters on the catalog's facts, without writing them into the record
    row = st.index.select("id = ?", [r.id], columns="model_key, task_tags, family_tag")[0]
    assert row == ("smollm2", ",chat,general,", "llama") and back.tasks == [] and back.family is None
    # Chroma: one entry per distinct sentence, the sentence as document, no metadata
    entry = st.collection.get(include=["metadatas", "documents"])
    assert entry["documents"] == [store_schema.describe(r)] and entry["metadatas"] == [None]
    twin = rec("smollm2", "Q4_K_M", id="twin")         # reads the same: shares the vector
    st.add(twin)
    assert st.count() == 2 and st.collection.count() == 1
    st.delete([r.id, "twin"])                          # the last run of a sentence takes its vector along
    assert st.count() == 0 and st.collection.count() == 0


def test_collection_uses_our_offline_embedding_function_never_the_default(home):
    st = default_store()
    ef = st.collection._embedding_function
    assert ef.name() == "lqmf-minilm-l6-v2"
    assert "onnx" not in type(ef).__name__.lower() and "default" not in type(ef).__name__.lower()
    vec = ef(["nearly lossless 8-bit"])[0]
    assert len(vec) == 384


def test_description_is_english_and_says_what_happened():
    ok = store_schema.describe(rec("smollm2", "Q4_K_M", 99e6, 96.0, 0.06))
    assert ok.startswith("smollm2 Q4_K_M gguf") and "99 MB" in ok and "quality kept" in ok
    assert "quality collapsed" in store_schema.describe(rec("smollm2", "Q2_K", kld=1.9))
    bad = store_schema.describe(rec(status="failed", error="the machine ran out of memory\ntrace"))
    assert bad.endswith("failed: the machine ran out of memory")


def test_known_models_file_lists_names_for_the_parser(home):
    st = default_store()
    st.add_many(sample_records())
    names = json.loads((home / "known_models.json").read_text())
    assert {"smollm2", "llama-3.1-8b", "HuggingFaceTB/SmolLM2-135M-Instruct"} <= set(names)


def test_jsonl_records_are_imported_once_and_torn_line_skipped(home):
    home.mkdir(parents=True, exist_ok=True)
    old = JsonlStore(home / "records.jsonl")
    recs = sample_records()[:4]
    for r in recs:
        old.add(r)
    old.add(recs[0])                                   # a duplicate id
    with open(old.path, "a") as f:
        f.write('{"kind": "benchmark", "status": "succ')   # a writer killed mid-line
    st = default_store()
    assert st.count() == 4
    assert {r.id for r in st.all()} == {r.id for r in recs}
    assert st.import_journal() == 0                    # idempotent
    assert ChromaStore().count() == 4                  # reopening imports nothing twice


def test_add_writes_the_journal_first(home):
    st = default_store()
    r = rec()
    st.add(r)
    lines = (home / "records.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["id"] == r.id


def test_corrupt_store_gives_one_sentence_and_keeps_the_files(home):
    chroma_dir = home / "chroma"
    chroma_dir.mkdir(parents=True)
    garbage = b"this is not a database " * 100
    (chroma_dir / "chroma.sqlite3").write_bytes(garbage)
    JsonlStore(home / "records.jsonl").add(rec(id="kept"))
    with pytest.raises(StoreCorrupt) as e:
        default_store()
    msg = str(e.value)
    assert str(chroma_dir) in msg and "\n" not in msg and "move that folder aside" in msg
    assert (chroma_dir / "chroma.sqlite3").read_bytes() == garbage      # nothing overwritten
    # the fix the sentence gives works and loses nothing
    chroma_dir.rename(home / "chroma.broken")
    assert [r.id for r in default_store().all()] == ["kept"]


def test_locked_store_gives_one_sentence_and_the_record_survives(home, monkeypatch):
    st = default_store()
    monkeypatch.setenv("LQMF_STORE_LOCK_TIMEOUT", "0.5")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, sys, time
            f = open({str(st.path / '.lqmf-write.lock')!r}, 'a')
            fcntl.flock(f, fcntl.LOCK_EX)
            print('locked', flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = rec(id="while-locked")
        with pytest.raises(StoreLocked) as e:
            st.add(r)
        assert "locked by another process" in str(e.value) and "\n" not in str(e.value)
    finally:
        holder.kill()
        holder.wait()
    # the journal kept it; the next open imports it
    assert default_store().get(["while-locked"])[0].id == "while-locked"


WRITER = """
import sys
sys.path.insert(0, {root!r})
from lqmf.tools.store.experiments import ChromaStore
from tests.store_fixtures import rec
st = ChromaStore()
i = 0
while True:
    batch = [rec(tok=float(i + k), id=f"w{{i + k:06d}}") for k in range(25)]
    st.add_many(batch)
    print(" ".join(r.id for r in batch), flush=True)   # committed
    i += 25
"""


@pytest.mark.slow
def test_writer_killed_mid_batch_loses_no_committed_record(home):
    env = {**os.environ, "LQMF_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    committed: list[str] = []
    try:
        deadline = time.time() + 180
        while len(committed) < 150 and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed += line.split()
        time.sleep(0.05)                                 # let it be inside the next batch
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert len(committed) >= 150, "the writer did not get going"
    st = ChromaStore()                                   # opens after the kill
    have = {r.id for r in st.get(committed)}
    assert have == set(committed)
    assert st.index.count() == st.count()                # index caught up with Chroma
    st.add(rec(id="after-kill"))                         # and it still writes
    assert st.get(["after-kill"])


def test_server_store_works_like_the_embedded_one(home, server, monkeypatch):
    monkeypatch.setenv("LQMF_CHROMA_URL", server.url)
    st = default_store()
    assert st.url == server.url and st.path is None
    recs = sample_records()
    st.add_many(recs)
    assert st.count() >= len(recs)
    assert st.get(["sm-q80"])[0] == next(r for r in recs if r.id == "sm-q80")
    hits = st.semantic("runs where quality collapsed", n=3)
    assert hits[0][0].id == "sm-q2k"


def test_unreachable_server_names_the_url(home, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LQMF_CHROMA_URL", url)
    t = time.time()
    with pytest.raises(StoreUnreachable) as e:
        default_store()
    msg = str(e.value)
    assert url in msg and "\n" not in msg and "does not answer" in msg
    assert time.time() - t < 30


def test_embedder_loads_once_and_warms_up_in_background():
    from lqmf.tools.store.embeddings import embedder

    emb = embedder()
    t = emb.warm_up()
    if t is not None:
        t.join(60)
    assert emb.loaded
    a, b = emb.embed(["nearly lossless 8-bit", "nearly lossless 8-bit"])
    assert a.shape == (384,) and (a == b).all()
    assert embedder() is emb


def test_a_store_of_the_layout_before_opens_with_every_run_and_keeps_its_data(home, capsys):
    """The layout before: one Chroma entry per run in the collection "experiments",
    the whole record as metadata. Written here as that version wrote it."""
    import chromadb
    from chromadb.config import Settings

    from lqmf.tools.store.embeddings import embedder, embedding_function

    recs = sample_records()
    path = home / "chroma"
    path.mkdir(parents=True)
    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    old = client.get_or_create_collection("experiments", embedding_function=embedding_function(),
                                          configuration={"hnsw": {"space": "cosine"}})
    docs = [store_schema.describe(r) for r in recs]
    old.add(ids=[r.id for r in recs], documents=docs, embeddings=embedder().embed(docs),
            metadatas=[{"record_json": json.dumps(r.to_dict()), "status": r.status, "task_chat": True}
                       for r in recs])
    del old, client
    st = default_store()
    assert sorted(r.id for r in st.all()) == sorted(r.id for r in recs)
    assert st.get(["sm-q80"])[0] == next(r for r in recs if r.id == "sm-q80")      # exact
    assert st.semantic("runs where quality collapsed", n=1)[0][0].id == "sm-q2k"
    assert "copied from the Chroma collection 'experiments'" in capsys.readouterr().err
    kept = st.vectors.client.get_collection("experiments")                          # nothing deleted
    assert kept.count() == len(recs)
    assert default_store().count() == len(recs)                                     # once only
    assert capsys.readouterr().err == ""


def test_semantic_search_within_a_filter_takes_both_roads_to_the_same_runs(home, monkeypatch):
    """More descriptions than the first nearest batch: a filter whose runs are far
    from the text is answered by ranking its own matches (a narrow filter) or by
    widening the nearest batch (a broad one); both give the same runs."""
    st = default_store()
    recs = [rec("smollm2", "Q8_0", kld=0.0001 * (i + 1), id=f"lossless-{i:03d}", age_days=i / 10)
            for i in range(150)]
    recs += [rec("mistral-7b", "Q4_K_M", status="failed", kind="quantize", age_days=k,
                 error=f"the machine ran out of memory ({k} GB short)", id=f"oom-{k}") for k in range(3)]
    st.add_many(recs)
    assert st.collection.count() > 64
    where = "model_key = ?"
    narrow = st.semantic("nearly lossless 8-bit runs", where, ["mistral-7b"], n=2)
    assert [r.id for r, _ in narrow] and all(r.id.startswith("oom-") for r, _ in narrow)
    monkeypatch.setattr(store_mod, "NARROW_SHARE", 0)
    broad = st.semantic("nearly lossless 8-bit runs", where, ["mistral-7b"], n=2)
    assert [(r.id, round(d, 5)) for r, d in broad] == [(r.id, round(d, 5)) for r, d in narrow]
    unfiltered = st.semantic("nearly lossless 8-bit runs", n=3)
    assert all(r.id.startswith("lossless-") for r, _ in unfiltered)


def test_a_side_index_of_the_version_before_gains_task_bits_and_answers_the_same(home):
    """A side index written before task_mask existed (tasks only as task_tags text,
    the one wide runs_filters index): opening it fills the bits from the text and
    swaps the indexes; task queries give the same runs as before."""
    import sqlite3

    from lqmf.tools.store import index as index_mod
    from lqmf.tools.store.query import from_slots
    from lqmf.tools.store.query_exec import Engine, run

    st = default_store()
    st.add_many(sample_records())
    path = st.index.path
    want = {t: [r.id for r in run(st, from_slots({"task": t, "sort": "size"}), Engine.SCAN).records]
            for t in ("chat", "code")}
    st.index.close()
    c = sqlite3.connect(path)
    for name in index_mod.INDEXES:
        c.execute(f"DROP INDEX {name}")
    c.execute("ALTER TABLE runs DROP COLUMN task_mask")
    c.execute("CREATE INDEX runs_filters ON runs(task_tags, status, created_at, desc_id)")
    c.commit()
    c.close()
    st = default_store()
    names = {r[0] for r in st.index._conn().raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert set(index_mod.INDEXES) <= names and "runs_filters" not in names
    for task, ids in want.items():
        assert ids and [r.id for r in run(st, from_slots({"task": task, "sort": "size"})).records] == ids


def test_a_run_written_by_one_client_of_a_server_shows_up_in_the_others(tmp_path, server, monkeypatch):
    """Two clients (two LQMF_HOMEs, each its own side index) on one real Chroma
    server: what one writes, the other finds in its next query, by filter, by
    semantic search and by id, and pulls keep working after a delete moved positions."""
    from lqmf.tools.store import vectors as vectors_mod
    from lqmf.tools.store.query import from_slots
    from lqmf.tools.store.query_exec import run

    monkeypatch.setattr(vectors_mod, "COLLECTION", "two_clients")
    monkeypatch.setenv("LQMF_CHROMA_URL", server.url)

    def client(name: str) -> ChromaStore:
        monkeypatch.setenv("LQMF_HOME", str(tmp_path / name))
        return default_store()

    alice = client("alice")
    alice.add_many(sample_records())
    bob = client("bob")                                   # opens after: pulls all of them
    assert bob.index.path != alice.index.path
    assert sorted(r.id for r in bob.all()) == sorted(r.id for r in sample_records())
    late = rec("mistral-7b", "Q2_K", status="failed", kind="quantize", error="the disk filled up", id="alice-late")
    alice.add(late)
    bob.SYNC_EVERY_S = 0.0                                # the next query looks at the server
    res = run(bob, from_slots({"status": "failed", "model": "mistral-7b"}))
    assert "alice-late" in [r.id for r in res.records]
    assert bob.get(["alice-late"])[0] == late                                # exact
    entry = bob.shared.collection.get(ids=["alice-late"], include=["metadatas", "documents"])
    assert entry["documents"] == [None] and list(entry["metadatas"][0]) == ["run"]   # one value, no document
    assert bob.semantic("the disk filled up", n=1)[0][0].id == "alice-late"
    mine = rec("smollm2", "Q8_0", id="bob-own")
    bob.add(mine)
    alice.SYNC_EVERY_S = 0.0
    alice.maybe_sync()
    assert alice.get(["bob-own"]) == [mine]
    assert alice.pull_shared() == 0                       # incremental: nothing new, nothing read again
    alice.delete(["sm-q80"])
    bob.add(rec(id="bob-after-delete"))                   # positions moved: alice reads every id again
    alice.maybe_sync()
    assert alice.get(["bob-after-delete"]) and not alice.get(["sm-q80"])


def test_a_metric_column_added_later_is_filled_from_the_rest_json(tmp_path):
    """A side index written before a metric had its own column: opening it adds the
    column and fills it from each run's rest JSON, so filters and sorts see it."""
    import sqlite3

    from lqmf.tools.store.index import SideIndex

    path = tmp_path / "index.sqlite3"
    idx = SideIndex(path)
    r = rec(id="r1", top1_pct=91.5)
    idx.upsert([store_schema.to_row(r)])
    del idx
    with sqlite3.connect(path) as c:   # the layout before: no top1_pct column, the value in the rest JSON
        c.execute("ALTER TABLE runs DROP COLUMN top1_pct")
        rest = json.loads(c.execute("SELECT rest FROM bodies WHERE id='r1'").fetchone()[0] or "{}")
        c.execute("UPDATE bodies SET rest=? WHERE id='r1'", (json.dumps({**rest, "top1_pct": 91.5}),))
    again = SideIndex(path)
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT top1_pct FROM runs WHERE id='r1'").fetchone()[0] == 91.5
    del again


def test_a_record_as_a_dict_is_asdict_and_owns_its_lists_and_dicts():
    from dataclasses import asdict

    r = ExperimentRecord(kind="benchmark", status="succeeded", model="m", tasks=["chat"],
                         recipe={"imatrix": "code"}, tool_versions={"nested": {"a": [1]}})  # type: ignore[dict-item]
    d = r.to_dict()
    assert d == asdict(r) and list(d) == [f for f in asdict(r)]
    d["tasks"].append("code")
    d["tool_versions"]["nested"]["a"].append(2)
    assert r.tasks == ["chat"] and r.tool_versions == {"nested": {"a": [1]}}

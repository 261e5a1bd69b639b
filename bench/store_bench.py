"""Experiment store benchmark: bulk import, filtered+sorted and semantic query latency,
size on disk; embedded Chroma and a Chroma server on loopback.

    .venv/bin/python bench/store_bench.py --n 10000
    .venv/bin/python bench/store_bench.py --n 100000 --queries 100
    .venv/bin/python bench/store_bench.py --n 10000 --no-server

Targets (issue 11): at 100k records, filtered+sorted p95 < 50 ms, semantic
p95 < 50 ms (embedding of the query text included), at most 3 KB on disk per
record, import at least as fast as the layout before. The figures of the
layout before (one Chroma entry per run, the record as metadata), measured by
this bench on commit eb2cf5c, are in bench/store_bench_baseline.json and are
printed side by side with today's.
The query mix is what ``lqmf query`` and the chat send: the slots of every
query utterance in evals/parse/*.jsonl, plus a few shapes they are thin on;
p50/p95 are printed per shape (its filters and sort).
Records are synthetic but shaped like real ones: catalog models, real quant
types, sizes from bits per weight, speeds from memory bandwidth, KLD from
llama.cpp's published scale, realistic failures.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Mean KLD by quant type on a natural 8B model (llama.cpp's table, extended).
KLD = {"F16": 0.0001, "Q8_0": 0.0014, "Q6_K": 0.0055, "Q5_K_M": 0.011, "Q5_K_S": 0.013,
       "Q5_1": 0.014, "Q5_0": 0.016, "Q4_K_M": 0.031, "Q4_K_S": 0.038, "Q4_1": 0.05,
       "Q4_0": 0.072, "IQ4_XS": 0.033, "IQ4_NL": 0.035, "Q3_K_L": 0.09, "Q3_K_M": 0.11,
       "Q3_K_S": 0.17, "Q2_K": 0.44, "NF4": 0.045, "FP4": 0.06, "INT8": 0.003}
ERRORS = [
    "the machine ran out of memory",
    "llama.cpp's converter does not support the architecture MambaForCausalLM",
    "the disk filled up while writing",
    "llama.cpp could not read the model file; it looks truncated or corrupt",
    "interrupted: temporary files were removed",
    "bitsandbytes 4-bit reload differs from the saved logits by 0.79",
    "GPTQ quantization needs a GPU with CUDA",
    "the hub id is not in the local Hugging Face cache",
]
# relative popularity of quant types (others weigh 1)
QTYPE_WEIGHT = {"Q4_K_M": 30, "Q8_0": 15, "Q5_K_M": 12, "Q6_K": 8, "Q4_0": 6, "Q3_K_M": 4,
                "Q2_K": 3, "NF4": 6, "INT8": 4, "F16": 4, "IQ4_XS": 3, "Q4_K_S": 2, "Q5_K_S": 2}
HOSTS = ["vm", "workstation", "laptop", "gpu-box", "pi5"]


def synthetic_records(n: int, seed: int = 0):
    from lqmf import knowledge
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.store.records import ExperimentRecord

    rnd = random.Random(seed)
    models = knowledge.catalog()
    specs = list(current().specs.values())
    # People work with a few models and a few quant types: Zipf over the catalog's
    # models, popularity weights over quant types, a few common failures.
    model_w = [1 / (rank + 1) for rank in range(len(models))]
    rnd.shuffle(model_w)
    type_w = [QTYPE_WEIGHT.get(s.type.value, 1) for s in specs]
    error_w = [1 / (rank + 1) for rank in range(len(ERRORS))]
    now = time.time()
    out = []
    for i in range(n):
        m = rnd.choices(models, model_w)[0]
        s = rnd.choices(specs, type_w)[0]
        params = m["params_b"] * 1e9
        size = int(params * s.bpw / 8 * 1.02 + 5e6)
        device = "gpu" if rnd.random() < 0.15 else "cpu"
        threads = rnd.choice([2, 4, 8, 16]) if device == "cpu" else None
        bandwidth = 400e9 if device == "gpu" else 12e9 * (threads or 2) ** 0.5
        r = rnd.random()
        status = ("succeeded" if r < 0.85 else "failed" if r < 0.95 else
                  "cancelled" if r < 0.98 else rnd.choice(["running", "queued"]))
        kind = "benchmark" if rnd.random() < 0.6 else "quantize"
        rec = ExperimentRecord(
            kind=kind, status=status, model=m["name"] if rnd.random() < 0.8 else m.get("hub_id", m["name"]),
            model_name=m["name"], method=s.method.value, quant_type=s.type.value, bits=s.bits,
            device=device, threads=threads, host=rnd.choice(HOSTS),
            created_at=now - rnd.random() * 180 * 86400, duration_s=rnd.uniform(2, 900),
            tool_versions={"python": "3.11.9", "llama-cpp-python": "0.3.36"},
            source_sha256="%064x" % rnd.getrandbits(256))
        if status == "succeeded":
            rec.size_bytes = size
            rec.artifact = f"/data/lqmf/artifacts/{m['name']}-{s.type.value}.gguf"
            rec.artifact_sha256 = "%064x" % rnd.getrandbits(256)
            if kind == "benchmark":
                rec.gen_tok_s = round(bandwidth / size * rnd.uniform(0.85, 1.15), 2)
                rec.prompt_tok_s = round(rec.gen_tok_s * rnd.uniform(5, 12), 1)
                # KLD and perplexity are deterministic for one artifact and eval text
                rec.kld_mean = round(KLD[s.type.value] * (1.4 / (1 + m["params_b"] ** 0.3)), 5)
                rec.ppl = round(8 + 40 * rec.kld_mean, 3)
                rec.base_ppl = 8.0
                rec.ppl_delta_pct = round((rec.ppl / 8.0 - 1) * 100, 2)
                rec.peak_rss_mb = round(size / 1e6 * 1.1 + 200, 1)
                rec.ctx = 512
                rec.eval_text = "jargon-prose"
        elif status == "failed":
            rec.error = rnd.choices(ERRORS, error_w)[0]
        out.append(rec)
    return out


# Shapes a person asks that the parser's labelled sets are thin on.
EXTRA_SLOTS = [
    {"task": "chat", "max_size_gb": 2, "sort": "speed", "order": "desc"},
    {"status": "failed", "since_days": 7},
    {"task": "code", "sort": "quality", "order": "desc", "limit": 5},
    {"model": "smollm2", "quant_type": "Q4_K_M", "sort": "date"},
    {"bits": 4, "max_size_gb": 5, "sort": "size", "order": "asc"},
    {"method": "gguf", "min_tok_s": 30, "sort": "speed"},
    {"task": "math", "status": "succeeded", "sort": "quality", "limit": 3},
    {"sort": "speed", "order": "desc", "limit": 10},
    {"model": "qwen2.5-7b", "since_days": 30, "sort": "speed"},
    {"task": "creative", "max_size_gb": 8, "min_tok_s": 10, "sort": "size"},
]


def query_mix() -> list[dict]:
    """What ``lqmf query`` and the chat send: the slots of every query utterance
    in the parser's labelled sets (evals/parse/*.jsonl, as often as they occur
    there), then EXTRA_SLOTS."""
    import json

    from lqmf.tools.errors import LqmfError
    from lqmf.tools.store.query import from_slots

    mix = []
    for path in sorted((ROOT / "evals" / "parse").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("intent") == "query":
                mix.append(item.get("slots") or {})
    out = []
    for slots in mix + EXTRA_SLOTS:
        try:
            from_slots(slots)
        except LqmfError:
            continue
        out.append(slots)
    return out


def shape(slots: dict) -> str:
    """'task+max_size_gb / sort speed': the filters a query has, and its sort."""
    from lqmf.tools.store.query import from_slots

    q = from_slots(slots)
    filters = "+".join(f.field.value for f in q.filters) or "no filter"
    return f"{filters} / {'sort ' + q.sort.value if q.sort else 'newest first'}"


SEMANTIC = ["runs where quality collapsed", "which quantizations ran out of memory",
            "small fast models that kept quality", "failed conversions of an unsupported architecture",
            "nearly lossless 8-bit runs", "slow runs of big models", "disk full while writing",
            "heavy quality loss at 2-bit", "corrupt or truncated model files",
            "good code models with little quality loss"]


SCAN_QUERIES = 30   # the Python reference engine reads every record (--scan-queries)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def measure(store, n_queries: int, label: str, scan: bool) -> dict:
    from lqmf.tools.store.embeddings import embedder
    from lqmf.tools.store.query import from_slots
    from lqmf.tools.store.query_exec import Engine, run

    out = {}
    engines = [Engine.INDEX] + ([Engine.SCAN] if scan else [])
    mix = query_mix()
    for engine in engines:
        times: list[float] = []
        by_shape: dict[str, list[float]] = {}
        count = max(n_queries, len(mix)) if engine is Engine.INDEX else min(n_queries, SCAN_QUERIES)
        for i in range(count):
            slots = mix[i % len(mix)]
            q = from_slots(slots)
            t = time.perf_counter()
            run(store, q, engine=engine)
            times.append((time.perf_counter() - t) * 1000)
            by_shape.setdefault(shape(slots), []).append(times[-1])
        out[f"filter_sort_{engine.value}"] = (pct(times, 50), pct(times, 95))
        what = "side index SQL" if engine is Engine.INDEX else "Python scan of every record"
        print(f"  [{label}] filtered+sorted ({what}): p50 {pct(times, 50):.1f} ms, "
              f"p95 {pct(times, 95):.1f} ms over {count} queries of {len(by_shape)} shapes "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        if engine is Engine.INDEX:
            both = [t for k, ts in by_shape.items() if "no filter" not in k and "sort" in k.split(" / ")[1]
                    for t in ts]
            if both:
                print(f"  [{label}]   of which with a filter and a sort: p50 {pct(both, 50):.1f} ms, "
                      f"p95 {pct(both, 95):.1f} ms over {len(both)}", flush=True)
            for k, ts in sorted(by_shape.items(), key=lambda kv: -pct(kv[1], 95)):
                print(f"  [{label}]     {k:52} n={len(ts):3}  p50 {pct(ts, 50):6.1f}  p95 {pct(ts, 95):6.1f} ms")
    filtered = [s for s in mix if from_slots(s).filters]   # semantic+filter: the text within them
    kinds: list[tuple[str, dict | None]] = [("semantic", {"limit": 10}), ("semantic+filter", None)]
    for name, slots in kinds:
        times, embed_ms = [], []
        rnd = random.Random(1)
        for i in range(n_queries):
            # a distinct text each time, so the embedding is really computed
            tail = rnd.choice(["please", "recently", "on my laptop", "for smollm2", "with gguf", "today"])
            text = f"{SEMANTIC[i % len(SEMANTIC)]} {tail} #{name}{i}"
            q = from_slots(slots if slots is not None else filtered[i % len(filtered)], text)
            emb = embedder()
            hits_before, es0 = emb.cache_hits, emb.encode_s
            t = time.perf_counter()
            run(store, q)
            times.append((time.perf_counter() - t) * 1000)
            embed_ms.append((emb.encode_s - es0) * 1000)
            assert emb.cache_hits == hits_before, "semantic query text was cached"
        out[name] = (pct(times, 50), pct(times, 95))
        print(f"  [{label}] {name} (embedding included): p50 {pct(times, 50):.1f} ms, "
              f"p95 {pct(times, 95):.1f} ms over {n_queries} queries (of which embedding the "
              f"query: p50 {pct(embed_ms, 50):.1f} ms)", flush=True)
    return out


def import_records(store, records, label: str) -> float:
    from lqmf.tools.store.embeddings import embedder

    emb = embedder()
    enc0, es0 = emb.encoded, emb.encode_s
    t = time.perf_counter()
    store.add_many(records)
    dt = time.perf_counter() - t
    distinct = emb.encoded - enc0
    print(f"  [{label}] bulk import of {len(records)}: {dt:.1f} s ({len(records) / dt:.0f} records/s; "
          f"{distinct} distinct descriptions embedded in {emb.encode_s - es0:.1f} s, the rest from "
          f"the text cache; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    return dt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    log = open(path.parent / "chroma-server.log", "wb")
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"chroma server exited; see {path.parent / 'chroma-server.log'}")
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("chroma server did not start in 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


BASELINE = ROOT / "bench" / "store_bench_baseline.json"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def side_by_side(n: int, new: dict) -> None:
    """Today's figures next to those of the layout before (one Chroma entry per
    run) and of main before the side index carried its filters
    (bench/store_bench_baseline.json: this bench on those commits)."""
    import json

    data = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    old = data.get("runs", {}).get(str(n))
    main_ = data.get("main", {}).get("runs", {}).get(str(n))
    if not old and not main_:
        print(f"  (no earlier figures at n={n} in {BASELINE.name})")
        return
    old, main_ = old or {}, main_ or {}
    print(f"\n  side by side at n={n} (layout before: {old.get('commit', '-')}, load {old.get('load', '-')}; "
          f"main: {main_.get('commit', '-')}, load {main_.get('load', '-')}; now: load {os.getloadavg()[0]:.1f}):")
    print(f"  {'':38} {'before':>8} {'main':>8} {'now':>8} {'target':>8}")
    for key, label, target in (
            ("import_rps", "import, records/s", "405"),
            ("bytes_per_record", "disk per record, bytes", "3000"),
            ("filter_sort_p95", "filter+sort p95, ms", "50"),
            ("semantic_p95", "semantic p95 (embedding incl.), ms", "50"),
            ("semantic_filter_p95", "semantic+filter p95 (embed. incl.), ms", "-")):
        print(f"  {label:38} {_fmt(old.get(key)):>8} {_fmt(main_.get(key)):>8} {_fmt(new.get(key)):>8} {target:>8}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="records (default 10000)")
    ap.add_argument("--queries", type=int, default=200, help="queries per measure (default 200)")
    ap.add_argument("--no-server", action="store_true", help="skip the loopback server run")
    ap.add_argument("--no-scan", action="store_true",
                    help="skip timing the Python reference engine (reads every record)")
    ap.add_argument("--scan-queries", type=int, default=30,
                    help="queries for the slow Python reference (default 30)")
    ap.add_argument("--dir", help="work dir (default: a temp dir, removed at the end)")
    args = ap.parse_args()

    global SCAN_QUERIES
    SCAN_QUERIES = args.scan_queries
    work = Path(args.dir or tempfile.mkdtemp(prefix="lqmf-store-bench-"))
    os.environ["LQMF_HOME"] = str(work / "home")
    os.environ.pop("LQMF_CHROMA_URL", None)
    from lqmf.tools.store.embeddings import embedder
    from lqmf.tools.store.experiments import ChromaStore

    print(f"store bench: {args.n} records, {args.queries} queries each, cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    t = time.perf_counter()
    records = synthetic_records(args.n)
    print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    embedder().warm_up(background=False)
    print(f"  embedding model load + first call: {time.perf_counter() - t:.1f} s", flush=True)
    server = None
    new: dict = {}
    try:
        store = ChromaStore(path=work / "embedded")
        dt = import_records(store, records, "embedded")
        new["import_rps"] = len(records) / dt
        size = dir_bytes(work / "embedded")
        new["bytes_per_record"] = size / len(records)
        print(f"  [embedded] store size on disk: {size / 1e6:.1f} MB, {size / len(records):.0f} bytes "
              f"per record (side index {dir_bytes_glob(store.index.path) / 1e6:.1f} MB; Chroma "
              f"{store.collection.count()} description vectors)", flush=True)
        t = time.perf_counter()
        store = ChromaStore(path=work / "embedded")
        print(f"  [embedded] reopen (counts checked, journal looked at): "
              f"{(time.perf_counter() - t) * 1000:.0f} ms", flush=True)
        got = measure(store, args.queries, "embedded", not args.no_scan)
        new["filter_sort_p95"] = got["filter_sort_index"][1]
        new["semantic_p95"] = got["semantic"][1]
        new["semantic_filter_p95"] = got["semantic+filter"][1]
        if not args.no_server:
            embedder()._cache.clear()   # the server import embeds again, like a fresh client
            server, url = start_server(work / "server")
            os.environ["LQMF_HOME"] = str(work / "server-home")   # its own side index
            sstore = ChromaStore(url=url)
            import_records(sstore, records, "server")
            print(f"  [server] size on disk: server {dir_bytes(work / 'server') / 1e6:.1f} MB, "
                  f"side index {dir_bytes_glob(sstore.index.path) / 1e6:.1f} MB", flush=True)
            measure(sstore, args.queries, "server", not args.no_scan)
            os.environ["LQMF_HOME"] = str(work / "server-home-2")   # a second client, empty
            t = time.perf_counter()
            other = ChromaStore(url=url)
            print(f"  [server] a second client's first open, pulling every run into its side index: "
                  f"{time.perf_counter() - t:.1f} s for {other.count()} runs", flush=True)
        side_by_side(args.n, new)
    finally:
        if server is not None:
            stop_server(server)
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def dir_bytes_glob(path: Path) -> int:
    """A SQLite file with its -wal and -shm files."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


if __name__ == "__main__":
    sys.exit(main())

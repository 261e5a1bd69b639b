"""One conversation: the compiled graph, its SqliteSaver checkpointer in the
data dir, and the thread id. The graph (langgraph is slow to import) is
built in a background thread so the prompt can show at once; the first turn
waits for it if it must."""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

from lqmf.copilot.journal import journal, journal_path, journaled  # noqa: F401 - re-exported
from lqmf.tools.config import data_dir

THREADS_FILE = "chat_threads.txt"


def db_path() -> Path:
    return data_dir() / "chat.sqlite"


def set_aside_if_damaged(path: Path) -> str | None:
    """Move a chat history that is not a readable SQLite database aside (with
    its -wal/-shm), so the chat starts fresh instead of failing every turn;
    returns the sentence to show, or None when the file is fine or absent."""
    import os
    import sqlite3

    from lqmf.tools.fsutil import unique_aside
    from lqmf.tools.store.files import looks_like_sqlite

    if not path.exists() or path.stat().st_size == 0:
        return None
    ok = looks_like_sqlite(path)
    if ok:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            finally:
                con.close()
        except sqlite3.DatabaseError as e:
            if "locked" in str(e):
                return None  # another chat has it open: not damage
            ok = False
    if ok:
        return None
    aside = unique_aside(path, "corrupt")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(aside) + suffix))
    return (f"The chat history {path} was damaged; it was moved to {aside.name} "
            "and this chat starts a fresh history.")


def last_thread() -> str | None:
    path = data_dir() / THREADS_FILE
    if not path.is_file():
        return None
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    return lines[-1] if lines else None


@dataclass
class Turn:
    blocks: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    question: dict | None = None
    latency_s: float = 0.0


class Session:
    def __init__(self, resume: bool = False, thread_id: str | None = None, load_now: bool = True,
                 warm_docs: bool = False, app=None):
        """``app``: the dependencies the graph's nodes get as their runtime context
        (``lqmf.copilot.app.App``; the default one unless a test passes its own)."""
        from lqmf.copilot.app import App

        self.app = app if app is not None else App.default()
        self.thread_id = thread_id or (last_thread() if resume else None) or uuid.uuid4().hex[:12]
        self.resumed = bool(resume and self.thread_id == last_thread())
        if not self.resumed:
            with open(data_dir() / THREADS_FILE, "a") as f:
                f.write(self.thread_id + "\n")
        self._graph = None
        self._warm_docs = warm_docs
        self._error: BaseException | None = None
        self.notice: str | None = None   # one sentence to show on the next turn
        self._loader = threading.Thread(target=self._load, name="graph-loader", daemon=True)
        self._started = threading.Lock()
        self.lock = threading.RLock()
        if load_now:
            self.start_loading()

    def start_loading(self) -> None:
        """Build the graph in the background (idempotent). The terminal REPL calls
        this once its prompt is drawn, so the import does not delay the prompt."""
        with self._started:
            if not self._loader.is_alive() and self._loader.ident is None:
                self._loader.start()

    def _load(self) -> None:
        try:

            from lqmf.tools.heavy import imports

            with imports():  # the main thread may import heavy libraries meanwhile
                from langgraph.checkpoint.sqlite import SqliteSaver

                from lqmf.copilot.graph import build

            self.notice = set_aside_if_damaged(db_path())
            self._graph = self._open_graph(build, SqliteSaver)
        except BaseException as e:  # noqa: BLE001 - reported on first use
            self._error = e
            return
        if self._warm_docs:
            # The docs index (Chroma + the embedder) is warmed in this same loader thread,
            # after the graph, and every turn joins this thread first (``graph``): so its
            # heavy imports never run in two threads at once. The price: a turn typed in
            # the first seconds waits for the warm-up too.
            # TODO(tools/heavy.py): with the process-wide import lock of that branch, set
            # ``graph`` ready before the warm-up and let the warm-up take the lock instead.
            try:
                from lqmf.tools.docs_index import warm_up

                warm_up(background=False)
            except Exception:  # noqa: BLE001 - the first explanation reports a real problem
                pass

    @property
    def graph(self):
        self.start_loading()
        self._loader.join()
        if self._error is not None:
            from lqmf.tools.errors import BackendFailed, LqmfError, MissingComponent

            if isinstance(self._error, LqmfError):
                raise self._error
            if isinstance(self._error, ImportError):
                raise MissingComponent(f"the chat engine could not start ({self._error})",
                                       "install the copilot extra: pip install 'lqmf[copilot]'")
            raise BackendFailed(f"the chat engine could not start ({self._error})")
        return self._graph

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.thread_id}}

    def state(self):
        return self.graph.get_state(self.config)

    def values(self) -> dict:
        return dict(self.state().values or {})

    def pending(self) -> dict | None:
        """The question the conversation waits on, if any."""
        st = self.state()
        return dict(st.interrupts[0].value) if st.interrupts else None

    def cut_off(self) -> bool:
        """True when the last run stopped between nodes (killed mid-turn)."""
        st = self.state()
        return bool(st.next) and not st.interrupts

    def _open_graph(self, build, saver_cls):
        import sqlite3

        conn = sqlite3.connect(str(db_path()), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        self._conn = conn
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

        # the state holds plain data and one enum of ours (Step.tool): allow exactly that
        serde = JsonPlusSerializer(allowed_msgpack_modules=[("lqmf.copilot.state", "ToolName")])
        return build(saver_cls(conn, serde=serde))

    def send(self, text: str, on_blocks=None, via: str = "text") -> Turn:
        """Run one turn: a new utterance, or the answer to the pending question."""
        return self._send(text, on_blocks, via)

    def _send(self, text: str, on_blocks=None, via: str = "text") -> Turn:
        """Run one turn: a new utterance, or the answer to the pending question.
        ``via``: "voice" when the text is a transcript (tutorial checks read it)."""
        from langgraph.types import Command

        from lqmf.copilot.app import audit

        with self.lock, audit.acting(via="chat"):   # what the graph's tools change is audited as the chat's
            graph = self.graph
            turn = Turn()
            if self.notice:
                note, self.notice = [{"kind": "warn", "text": self.notice}], None
                turn.blocks.extend(note)
                if on_blocks:
                    on_blocks(note)
            t0 = time.perf_counter()
            inp: Any = Command(resume=text) if self.pending() is not None else {"text": text, "via": via}
            for update in graph.stream(inp, self.config, stream_mode="updates", context=self.app):
                for node, upd in update.items():
                    if node == "__interrupt__":
                        turn.question = dict(upd[0].value)
                        continue
                    if not isinstance(upd, dict):
                        continue
                    shown = [b for b in upd.get("out") or [] if b.get("kind") != "reset"]
                    if shown:
                        turn.blocks.extend(shown)
                        if on_blocks:
                            on_blocks(shown)
                    turn.calls.extend(upd.get("calls") or [])
            turn.latency_s = time.perf_counter() - t0
            return turn

    def tick(self, on_blocks=None) -> Turn | None:
        """Refresh job states and announce finished ones (not while a question waits)."""
        with self.lock:
            if self.pending() is not None:
                return None
            return self.send("", on_blocks)

    def active_jobs(self) -> list[dict]:
        """Jobs of this conversation not yet announced as finished, per the state."""
        return [t for t in self.values().get("tracked") or [] if not t.get("announced")]

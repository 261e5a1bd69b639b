"""A chat history damaged while the chat runs: one sentence, the file moved
aside (never deleted), and the next turn works on a fresh history."""
from __future__ import annotations

import pytest


def test_history_damaged_mid_chat_is_moved_aside_and_the_chat_goes_on(tmp_path):
    from copilot.session import Session, db_path
    from tools.errors import StoreCorrupt

    s = Session(load_now=True)
    first = s.send("what can you do")
    assert first.blocks
    path = db_path()
    s._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as f:  # garbage over the whole file, header included
        size = path.stat().st_size
        f.write(b"\xde\xad\xbe\xef" * (size // 4 + 1))
    with pytest.raises(StoreCorrupt) as e:
        s.send("what can you do")
    msg = str(e.value)
    assert "moved to" in msg and "\n" not in msg
    assert list(path.parent.glob("chat.sqlite.corrupt*")), "the damaged file is kept aside"
    again = s.send("what can you do")
    assert again.blocks

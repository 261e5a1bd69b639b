"""The chat's view of a recommendation (``app.recommend``): the sentences and
the table, as output blocks."""
from __future__ import annotations

from lqmf.copilot import render


def blocks(advice) -> list[dict]:
    from lqmf.copilot.app.recommend import summary, table

    lines = summary(advice)
    cols, rows = table(advice, nearest=not advice.rows)
    out = [render.text(lines[0])]
    if rows:
        out.append(render.table("Recommendation" if advice.rows else "Nearest options", cols, rows))
    out += [render.text(line) for line in lines[1:]]
    if advice.rows:
        out.append(render.text("Say 'quantize the first one' (or the second, the last...) to make it, "
                               "or tell me 'too slow', 'too lossy' or 'rate it 4/5'."))
    return out

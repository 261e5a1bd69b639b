"""Terminal scatter plots of experiment results (plotext), where a picture says more.

``size-kld``: file size against mean KL divergence (the quality/size trade-off).
``speed-size``: generation tokens/s against file size.
Points are marked per model (or per quant type for one model), with the key below. Returns plain text (colourless
when not writing to a terminal), so the CLI and the chat can both print it.
"""
from __future__ import annotations

from enum import StrEnum


class PlotKind(StrEnum):
    SIZE_KLD = "size-kld"
    SPEED_SIZE = "speed-size"


# kind -> (x field, x label, y field, y label)
AXES = {
    PlotKind.SIZE_KLD: ("size_bytes", "size (MB)", "kld_mean", "mean KLD (lower is better)"),
    PlotKind.SPEED_SIZE: ("size_bytes", "size (MB)", "gen_tok_s", "generation tok/s"),
}


def _x(field: str, value: float) -> float:
    return value / 1e6 if field == "size_bytes" else value


def plot(records: list, kind: str | PlotKind, width: int = 100, height: int = 25,
         color: bool = False, title: str | None = None) -> str:
    """The plot as text, or a one-line note when there is nothing to draw.

    Points are grouped by model when several models are shown, else by quant
    type; KLD is drawn on a log scale (it spans orders of magnitude)."""
    import plotext as plt

    kind = PlotKind(kind)
    xf, xl, yf, yl = AXES[kind]
    pts = [(r, getattr(r, xf), getattr(r, yf)) for r in records]
    pts = [(r, _x(xf, x), y) for r, x, y in pts if x is not None and y is not None]
    if not pts:
        return f"(nothing to plot: no run has both {xl.split(' (')[0]} and {yl.split(' (')[0]})"
    for axis, label in ((1, xl), (2, yl)):
        if len({p[axis] for p in pts}) < 2:
            what = label.split(" (")[0]
            return (f"(nothing to plot: the {len(pts)} run{'s' if len(pts) != 1 else ''} shown "
                    f"{'all have' if len(pts) != 1 else 'has'} the same {what}; "
                    f"a plot needs at least two different values)")
    models = {r.model_name or r.model for r, _, _ in pts}
    groups: dict[str, list] = {}
    for r, x, y in pts:
        key = (r.model_name or r.model) if len(models) > 1 else (r.quant_type or "?")
        groups.setdefault(key, []).append((x, y))
    fig = plt.figure
    fig.clear()
    plt.terminal.limit(False, False)
    fig.plot_size(width, height)
    markers = "xo+*#@%&$=~^"
    legend = []
    for i, (key, xy) in enumerate(sorted(groups.items())):
        mark = markers[i % len(markers)]
        fig.draw(fig.signal([x for x, _ in xy], [y for _, y in xy], marker=mark))
        legend.append(f"{mark} {key}")
    if yf == "kld_mean" and all(y > 0 for _, _, y in pts):
        fig.ruler(axis=1).scale("log")
    fig.label(xl, axis=0)
    fig.label(yl, axis=1)
    fig.title(title or {PlotKind.SIZE_KLD: "size vs quality", PlotKind.SPEED_SIZE: "speed vs size"}[kind])
    try:
        text = fig.build().string(colorless=not color)
    except (ValueError, ZeroDivisionError, OverflowError):  # plotext on a degenerate scale
        fig.clear()
        return "(nothing to plot: the values span no range plotext can draw)"
    fig.clear()
    return text.rstrip("\n") + "\n" + "   ".join(legend)

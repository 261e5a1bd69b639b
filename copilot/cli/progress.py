"""Rich progress bars on stderr for engine callbacks (stdout stays for results)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

STAGES = {"dequantize": "Dequantizing the GGUF source", "convert": "Converting to F16 GGUF",
          "quantize": "Quantizing", "speed": "Measuring speed", "baseline": "Scoring the F16 baseline",
          "score": "Scoring perplexity / KLD"}


@contextlib.contextmanager
def rich_progress(enabled: bool = True) -> Iterator:
    """Yield a ``progress(stage, fraction)`` callback drawing one bar per stage."""
    if not enabled:
        yield lambda stage, fraction: None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from lqmf.copilot.cli.output import console

    bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=console(stderr=True), transient=False)
    tasks: dict[str, TaskID] = {}

    def callback(stage: str, fraction: float | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(STAGES.get(stage, stage), total=None if fraction is None else 1.0)
        task = tasks[stage]
        if fraction is None:
            return
        bars.update(task, total=1.0, completed=fraction)

    with bars:
        yield callback

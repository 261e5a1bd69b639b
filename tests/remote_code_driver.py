"""Run llama.cpp's real converter (``--vocab-only``) on many planted folders in
one process, through lqmf's no-remote-code wrapper unless ``--unwrapped``.
Usage: python remote_code_driver.py CONVERTER_DIR OUT.json [--unwrapped] FOLDER...
Writes {folder: last line of the converter's error} to OUT.json."""
from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    conv, out, *rest = argv
    unwrapped = "--unwrapped" in rest
    folders = [f for f in rest if f != "--unwrapped"]
    sys.path.insert(0, str(ROOT / "tools" / "llamacpp"))
    if not unwrapped:
        from no_remote_code import patch_transformers
        patch_transformers()
    sys.path.insert(0, conv)
    results = {}
    for folder in folders:
        sys.argv = [f"{conv}/convert_hf_to_gguf.py", folder, "--vocab-only",
                    "--outfile", str(Path(folder) / "vocab.gguf")]
        buf = io.StringIO()
        try:
            with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(buf):
                runpy.run_path(sys.argv[0], run_name="__main__")
            results[folder] = "ok"
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            results[folder] = f"{type(e).__name__}: {str(e)[:300]}"
    Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])

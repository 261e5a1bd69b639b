"""The fuzz and fault table (tests/fuzz/cases.py): each case asserts one
sentence, the exit code, no traceback, nothing partial, nothing touched
outside the output path, no record lost. Counts per class are printed at the
end of the run (tests/fuzz/conftest.py)."""
from __future__ import annotations

import pytest

from tests.fuzz.cases import all_cases
from tests.fuzz.harness import check_case

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, tmp_path, capsys):
    check_case(case, tmp_path, capsys)

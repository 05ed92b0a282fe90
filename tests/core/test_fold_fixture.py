"""The log and messages the browser's fold is tested against (tests/js/fold.test.js) are what
the Python projection says: the two folds are held to one contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

MAKER = Path(__file__).parents[1] / "js" / "fixtures" / "make_conversation.py"


def test_the_browsers_fold_fixture_is_the_projections() -> None:
    spec = importlib.util.spec_from_file_location("make_conversation", MAKER)
    assert spec is not None and spec.loader is not None
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    written = maker.FIXTURE.read_text(encoding="utf-8")
    assert written == maker.build(), f"out of date: run python {MAKER}"

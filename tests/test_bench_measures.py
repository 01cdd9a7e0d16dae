"""The PAN measures of bench/accuracy_text.py on the cases of PAN's own
perfmeasures.py unit tests (external annotations), so the benchmark's
figures mean what PAN's mean."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from accuracy_text import (Annotation, granularity, macro_precision, macro_recall,  # noqa: E402
                           micro_recall_precision, plagdet)

A1 = Annotation("t1", 0, 100, "s1", 0, 100)
A3 = Annotation("t1", 100, 100, "s1", 100, 100)
A4 = Annotation("t1", 0, 200, "s1", 0, 200)
A5 = Annotation("t1", 0, 1, "s1", 0, 1)
A7 = Annotation("t2", 0, 100, "s2", 0, 100)
A9 = Annotation("t2", 50, 100, "s2", 50, 100)
A10 = Annotation("t2", 25, 75, "s2", 25, 75)


def test_macro_recall():
    assert macro_recall([], []) == 1
    assert macro_recall([A1], []) == 0
    assert macro_recall([A1], [A1]) == 1
    assert macro_recall([A1, A7], [A1]) == 0.5
    assert macro_recall([A1], [A7]) == 0
    assert macro_recall([A1], [A3]) == 0
    assert macro_recall([A1], [A4, A7]) == 1
    assert macro_recall([A7], [A9]) == 0.5
    assert macro_recall([A7], [A10]) == 0.75
    assert macro_recall([A7], [A9, A10]) == 0.75


def test_macro_precision():
    assert macro_precision([A1, A7], [A1]) == 1
    assert macro_precision([A1], [A4]) == 0.5
    assert macro_precision([A7], [A10]) == 1
    assert macro_precision([A7], [A9, A10]) == 0.75
    assert macro_precision([A1], [A3, A4]) == 0.25


def test_micro_counts_characters_once():
    # Case A1 (200 chars over both sides); detections A4 (400) and A5 (2, inside A1).
    recall, precision = micro_recall_precision([A1], [A4, A5])
    assert recall == 1
    assert precision == pytest.approx(200 / 400)


def test_granularity():
    assert granularity([], []) == 1
    assert granularity([A1], [A5, A4]) == 2
    assert granularity([A1, A3], [A4]) == 1
    assert granularity([A1, A3], [A5, A4]) == 1.5


def test_plagdet():
    assert plagdet(0, 0, 1) == 0
    assert plagdet(1, 1, 1) == 1
    assert plagdet(0.5, 1, 1) == pytest.approx(2 / 3)
    assert plagdet(1, 1, 2) == pytest.approx(1 / math.log2(3))
    assert plagdet(0.25, 0.75, 2) == pytest.approx(0.23659865)

"""The review session without a GUI: listing order, the image on screen, stepping, verdicts and their undo."""

from __future__ import annotations

import pytest

from core.domain.enums import Verdict
from core.domain.review_session import ReviewSession, VerdictChange


def _session(order=(10, 11, 12, 13), verdicts=None) -> ReviewSession:
    s = ReviewSession()
    s.load_verdicts(verdicts or {10: None, 11: "good", 12: None, 13: "defect"})
    s.set_order(order)
    return s


def test_stepping_stays_within_the_list_and_starts_at_the_first_image():
    s = _session()
    assert s.position is None and s.stepped(1) == 0  # nothing on screen yet: the first image
    s.current = s.at(s.stepped(1))
    assert s.current == 10
    s.current = s.at(s.stepped(2))
    assert (s.current, s.position) == (12, 2)
    assert s.stepped(5) == 3 and s.stepped(-9) == 0
    assert ReviewSession().stepped(1) is None and ReviewSession().kept_or_first() is None


def test_a_new_order_keeps_the_image_on_screen_or_falls_back_to_the_first():
    s = _session()
    s.current = 12
    s.set_order([13, 12])  # another sort
    assert s.kept_or_first() == 1 and s.position_of(13) == 0
    s.set_order([10, 11])  # a filter that hides it
    assert s.position is None and s.kept_or_first() == 0
    assert s.stepped(1) == 0  # a step from a hidden image goes to the first listed one
    assert s.at(5) is None and s.position_of(None) is None


def test_verdicts_are_recorded_and_undone_newest_first():
    s = _session()
    s.current = 10
    first = s.record_verdict(10, "good")
    assert first == VerdictChange(10, None, Verdict.GOOD) and s.verdict() == "good"
    s.record_verdict(11, "defect")
    s.record_verdict(11, None)
    assert s.verdict(11) is None and s.can_undo
    assert s.undo() == VerdictChange(11, Verdict.DEFECT, None)
    assert s.verdict(11) == Verdict.DEFECT
    assert s.undo() == VerdictChange(11, Verdict.GOOD, Verdict.DEFECT)
    assert s.verdict(11) == "good"
    assert s.undo() == first and s.verdict(10) is None
    assert not s.can_undo and s.undo() is None


def test_a_verdict_from_elsewhere_is_known_but_not_undoable():
    s = _session()
    s.note_verdict(12, "defect")  # a mask was saved
    assert s.verdict(12) == Verdict.DEFECT and not s.can_undo
    s.record_verdict(12, "good")
    assert s.undo().before == Verdict.DEFECT


def test_an_unknown_verdict_is_refused_and_reset_forgets_everything():
    s = _session()
    with pytest.raises(ValueError):
        s.record_verdict(10, "maybe")
    s.current = 10
    s.record_verdict(10, "unsure")
    s.reset()
    assert (s.order, s.current, s.can_undo, s.verdict(10)) == ([], None, False, None)

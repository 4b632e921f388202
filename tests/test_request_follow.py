"""Following, pausing and "+N new" of the Requests tail (app/tui/request_follow.py)."""
from __future__ import annotations

from app.tui.request_follow import FollowState


def test_follows_until_the_user_leaves_the_newest_row():
    f = FollowState()
    assert not f.paused and f.unseen == 0
    assert f.leave() and f.paused
    assert not f.leave()  # already paused: nothing changes
    f.missed(3)
    f.missed(2)
    assert f.unseen == 5


def test_returning_to_the_newest_row_resumes_unless_held():
    f = FollowState()
    assert not f.back_on_newest()  # following already
    f.leave()
    assert f.back_on_newest()
    f.hold()
    assert not f.back_on_newest() and f.paused  # only space, end or G undo an explicit pause


def test_resume_ends_any_pause_and_returns_the_rows_missed():
    f = FollowState()
    f.hold()
    f.leave()
    f.missed(4)
    assert f.resume() == 4 and not f.paused and not f.held
    f.caught_up()
    assert f.unseen == 0 and f.resume() == 0


def test_hold_pauses_while_following():
    f = FollowState()
    f.hold()
    assert f.paused and f.following

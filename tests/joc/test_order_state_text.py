"""JOC's grouped order state of a Controller's ``Order`` (answers.order_state_text)
for the states of Fork, Lock and ExpectNotices, as JOC's OrdersHelper groups them."""

import pytest

from components.joc.answers import order_state_text


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ({"TYPE": "Forked", "children": []}, "WAITING"),
        ({"TYPE": "WaitingForLock"}, "WAITING"),
        ({"TYPE": "ExpectingNotices", "noticeIds": [["B", "N"]]}, "WAITING"),
        ({"TYPE": "FailedInFork"}, "FAILED"),
        ({"TYPE": "Ready"}, "INPROGRESS"),
        ({"TYPE": "Fresh"}, "PENDING"),
    ],
)
def test_fork_and_lock_states_as_joc_groups_them(state, text):
    assert order_state_text({"id": "o", "state": state}, 0) == text

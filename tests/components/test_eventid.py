"""EventIds stay strictly increasing whatever the clock does, and below 2**53."""

import itertools

import pytest

from components.common.eventid import (
    EventId,
    EventIdGenerator,
    EventIdOverflow,
    event_id_to_epoch_ms,
)


class FakeClock:
    """A clock the test moves by hand (seconds, like time.time)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_id_is_epoch_ms_times_1000_when_the_clock_advances():
    clock = FakeClock(1_700_000_000.123)
    gen = EventIdGenerator(clock=clock)
    first = gen.next()
    assert first == 1_700_000_000_123_000
    assert event_id_to_epoch_ms(first) == 1_700_000_000_123
    clock.now += 0.005
    assert gen.next() == 1_700_000_000_128_000
    assert gen.peek_last() == 1_700_000_000_128_000


def test_strictly_increasing_when_the_clock_stalls_and_goes_back():
    clock = FakeClock(1_700_000_000.0)
    gen = EventIdGenerator(clock=clock)
    ids = [gen.next() for _ in range(5)]  # stalled clock: last + 1
    assert ids == [ids[0] + i for i in range(5)]
    clock.now -= 3600  # an hour back
    ids += [gen.next() for _ in range(5)]
    clock.now += 7200  # and far forward again
    ids += [gen.next() for _ in range(3)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert ids[10] == 1_700_003_600_000_000
    # The epoch part of an id is never earlier than the time it was handed out.
    assert event_id_to_epoch_ms(ids[5]) >= int(clock.now - 7200) * 1000


def test_a_generator_seeded_with_the_last_id_continues_after_a_restart_with_a_clock_behind():
    clock = FakeClock(1_700_000_000.0)
    before = EventIdGenerator(clock=clock)
    last = [before.next() for _ in range(3)][-1]
    clock.now -= 60  # the restarted process's clock is a minute behind
    after = EventIdGenerator(last=before.peek_last(), clock=clock)
    assert after.peek_last() == last
    assert after.next() == last + 1


def test_advance_to_never_goes_back():
    gen = EventIdGenerator(last=1000, clock=FakeClock(0.0))
    gen.advance_to(500)
    assert gen.next() == 1001
    gen.advance_to(5000)
    assert gen.next() == 5001


def test_ids_stay_below_2_to_the_53():
    gen = EventIdGenerator(last=EventId.Max - 1, clock=FakeClock(0.0))
    assert gen.next() == 2**53 - 1
    with pytest.raises(EventIdOverflow):
        gen.next()
    assert gen.peek_last() == 2**53 - 1  # a refused id is not consumed
    with pytest.raises(EventIdOverflow):
        EventIdGenerator(clock=FakeClock(2**53 / 1e6 + 1)).next()  # year 287396
    with pytest.raises(EventIdOverflow):
        EventIdGenerator(last=2**53)


def test_before_first_is_zero():
    assert EventId.BeforeFirst == 0
    assert EventIdGenerator(clock=FakeClock(0.0)).next() == 1  # epoch 0 still gives > 0

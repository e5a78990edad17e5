"""The run view's state without Textual: the playback clock and the live feed, on the records
of a real recorded trace."""

from __future__ import annotations

import gc
import math
import threading
import weakref
from pathlib import Path

import pytest
from trace_builder import MS, S

from loopviz.app.state import FRAME, PACES, SPEEDS, Freezer, LiveFeed, Pacer, Playback
from loopviz.model.timeline import Timeline
from loopviz.trace import decode_lines, read_trace

GATHER = Path(__file__).parent / "fixtures" / "gather.trace.jsonl"


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return Timeline.from_file(GATHER)


def test_playing_advances_at_the_speed_and_stops_at_the_end(timeline: Timeline) -> None:
    end = timeline.end
    playback = Playback()
    t = playback.toggle(0, end, now=10.0)
    assert (t, playback.playing) == (0, True)
    t = playback.tick(t, end, now=10.125)
    assert t == 125 * MS and playback.playing
    playback.change_speed(-1)  # 0.5×
    t = playback.tick(t, end, now=10.25)
    assert t == 125 * MS + 125 * MS // 2
    assert playback.tick(t, end, now=10.25 + end / S) == end and not playback.playing
    assert playback.toggle(end, end, now=20.0) == 0  # played again from the end: starts over
    assert playback.toggle(0, end, now=20.5) == 0 and not playback.playing


def test_speeds_step_through_the_list_and_stop_at_either_end() -> None:
    playback = Playback()
    seen = []
    for _ in range(len(SPEEDS) + 1):
        playback.change_speed(1)
        seen.append(playback.speed)
    assert seen == [*SPEEDS[SPEEDS.index(1.0) + 1 :]] + [SPEEDS[-1]] * (SPEEDS.index(1.0) + 2)
    playback.speed = 0.3  # not in the list: moves from the nearest
    playback.change_speed(-1)
    assert playback.speed == 0.1


def test_stepping_visits_every_event_and_pauses(timeline: Timeline) -> None:
    playback = Playback(following=True)
    playback.playing = True
    forward = [-1]
    while (index := playback.step(timeline, forward[-1], 1, 0)) is not None:
        forward.append(index)
    assert not playback.playing and not playback.following
    assert forward == list(range(-1, timeline.moment_count()))
    backward = [forward[-1]]
    while (index := playback.step(timeline, backward[-1], -1, 0)) is not None:
        backward.append(index)
    assert backward[::-1] == forward[1:]


def test_stepping_one_task_visits_its_events_only(timeline: Timeline) -> None:
    playback = Playback()
    task = timeline.tasks[1].id
    own = [-1]
    while (index := playback.step(timeline, own[-1], 1, task)) is not None:
        own.append(index)
    everything = [timeline.moment(i) for i in range(timeline.moment_count())]
    assert own[1:] == [i for i, moment in enumerate(everything) if moment.task == task]
    back = [own[-1]]
    while (index := playback.step(timeline, back[-1], -1, task)) is not None:
        back.append(index)
    assert back[::-1] == own[1:]


def test_playing_by_steps_goes_one_event_at_a_time_at_the_pace(timeline: Timeline) -> None:
    playback = Playback()
    playback.by_steps = True
    last = timeline.moment_count() - 1
    assert playback.toggle(5, last, now=10.0) == 5 and playback.playing
    assert playback.tick(5, last, now=10.9) == 5  # 1 step a second: not yet
    assert playback.tick(5, last, now=11.0) == 6
    playback.change_speed(1)
    assert playback.pace == PACES[PACES.index(1.0) + 1] and playback.speed == 1.0
    assert playback.tick(6, last, now=11.5) == 7  # half a second at 2 steps a second
    assert playback.tick(7, last, now=13.0) == 8  # a late frame skips no step: play slows
    assert playback.tick(8, last, now=13.4) == 8 and playback.tick(8, last, now=13.5) == 9
    while playback.pace < 50.0:
        playback.change_speed(1)
    # Faster than the frames: a frame moves as many steps as one frame is due, even if late.
    assert playback.tick(9, last, now=14.5) == 9 + math.ceil(50.0 * FRAME)
    assert playback.tick(last - 1, last, now=1000.0) == last and not playback.playing
    assert playback.toggle(last, last, now=1001.0) == 0  # from the end: starts over


def test_following_the_live_end_until_the_user_moves(timeline: Timeline) -> None:
    playback = Playback(following=True)
    assert playback.jump(True, timeline.end, live=True) == timeline.end and playback.following
    assert playback.jump(False, timeline.end, live=True) == 0 and not playback.following
    assert playback.jump(True, timeline.end, live=False) == timeline.end
    assert not playback.following  # a finished run has no live end to follow
    playback.following = True
    assert playback.seek(-5) == 0 and not playback.following


def test_the_feed_hands_over_records_in_order_from_another_thread() -> None:
    trace = read_trace(GATHER)
    feed = LiveFeed()
    on_records = feed.new_run()
    batches = [trace.records[i : i + 7] for i in range(0, len(trace.records), 7)]
    sender = threading.Thread(target=lambda: [on_records(batch) for batch in batches])
    sender.start()
    sender.join(timeout=10)
    assert not sender.is_alive()
    live = Timeline(trace.header)
    live.add(feed.take())
    assert feed.take() == []
    whole = Timeline.from_file(GATHER)
    assert live.end == whole.end and live.finished
    assert [(i.id, i.name) for i in live.tasks] == [(i.id, i.name) for i in whole.tasks]


def test_a_rerun_drops_the_old_runs_records() -> None:
    records = read_trace(GATHER).records
    feed = LiveFeed()
    old = feed.new_run()
    old(records[:5])
    new = feed.new_run()  # the re-run: what was queued is dropped
    old(records[5:10])  # the old run, still shutting down
    new(records[:3])
    assert feed.take() == records[:3]


def test_the_pacer_gives_a_costly_redraw_a_tenth_of_the_time() -> None:
    pacer = Pacer()
    assert pacer.due(0.0)
    pacer.ran(0.0, 0.01)  # cheap: again after the minimum gap
    assert not pacer.due(0.19) and pacer.due(0.2)
    pacer.ran(1.0, 1.05)  # 50 ms: again after 0.5 s
    assert not pacer.due(1.45) and pacer.due(1.51)


def test_the_feed_hands_over_a_slice_at_a_time() -> None:
    records = read_trace(GATHER).records
    feed = LiveFeed()
    feed.new_run()(records)
    live = Timeline(read_trace(GATHER).header)
    while feed.backlog:
        live.add(feed.take(3))
    assert [len(feed.take(3))] == [0]
    whole = Timeline.from_file(GATHER)
    assert live.end == whole.end and live.finished


def test_a_model_built_anew_from_the_trace_skips_what_waits_and_the_trace_held() -> None:
    """--window: the model is built again from the trace, which holds the first records
    delivered; those still waiting in the feed are not folded in twice, the rest are."""
    records = read_trace(GATHER).records
    feed = LiveFeed()
    feed.new_run()(records)
    first = feed.take(5)
    assert first == records[:5] and feed.taken == 5
    feed.skip_to(12)  # the renewed model holds records 0-11
    assert feed.taken == 12 and feed.take() == records[12:]
    feed.skip_to(3)  # already past it: nothing to skip
    assert feed.taken == len(records) and feed.backlog == 0


def test_slices_cut_across_batches_keep_the_order() -> None:
    records = read_trace(GATHER).records
    feed = LiveFeed()
    on_records = feed.new_run()
    for start in range(0, len(records), 7):
        on_records(records[start : start + 7])
    taken: list[object] = []
    while feed.backlog:
        before = feed.backlog
        taken += feed.take(3)
        assert feed.backlog == max(0, before - 3)
    assert taken == records and feed.taken == len(records)


def test_a_feed_fallen_behind_drops_what_waits_and_what_comes() -> None:
    """Past its backlog the app cannot catch up: what waits is dropped (its memory stays
    bounded), and the recording is told to stop decoding records for it."""
    records = read_trace(GATHER).records
    feed = LiveFeed(max_backlog=10)
    on_records = feed.new_run()
    assert on_records(records[:8]) is True
    assert on_records(records[8:12]) is False  # 12 waiting: behind
    assert feed.behind and feed.backlog == 0 and feed.take() == []
    assert on_records(records[12:15]) is False
    assert feed.dropped == 15
    feed.new_run()  # a re-run starts afresh
    assert not feed.behind and feed.dropped == 0


def test_the_collector_does_not_walk_the_backlog() -> None:
    """Records waiting are no work for the garbage collector: once it ran, no container it
    tracks holds them (else each of its full passes walks every record waiting: over 100 ms
    for a backlog of 500,000)."""
    lines = GATHER.read_bytes().splitlines()[1:]
    feed = LiveFeed()
    on_records = feed.new_run()
    sent = [tuple(decode_lines(lines[start : start + 10])) for start in range(0, len(lines), 10)]
    for batch in sent:
        on_records(list(batch))
    records = tuple(record for batch in sent for record in batch)
    gc.collect()
    assert not any(map(gc.is_tracked, records))  # records are not tracked...
    assert gc.get_referrers(*records) == []  # ...nor is anything that holds them
    assert feed.take() == list(records)


class Node:
    """A thing that can sit in a reference cycle."""

    other: Node | None = None


def test_the_freezer_keeps_the_model_out_of_full_passes_and_freezes_no_garbage() -> None:
    """What was folded is frozen (full passes skip it); garbage at that moment is collected
    first, not frozen; what was frozen is still freed once dropped (the model holds no
    cycles); thawed, the collector has it all back."""
    freezer = Freezer()
    try:
        garbage = Node()
        garbage.other = Node()
        garbage.other.other = garbage  # a cycle only the collector frees
        gone = weakref.ref(garbage)
        del garbage
        model = Timeline.from_file(GATHER)
        kept = weakref.ref(model)
        freezer.settle()
        assert gone() is None  # collected, not frozen
        assert gc.get_freeze_count() > 0
        assert not any(o is model for o in gc.get_objects())  # out of the full passes
        del model
        assert kept() is None  # still freed when dropped
    finally:
        freezer.thaw()
    assert gc.get_freeze_count() == 0


def test_the_freezer_settles_as_often_as_it_may() -> None:
    """At most once per ``min_gap``, and for at most ``share`` of the time."""
    clock = iter([100.0, 100.2, 100.3, 100.6, 110.0, 111.0, 112.0])  # each call, in turn
    freezer = Freezer(share=0.05, min_gap=0.5, clock=lambda: next(clock))
    try:
        freezer.tick()  # due: settles (it took 0.2 s: the next after 4 s)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        freezer.thaw()
        freezer.tick()  # 100.3: too soon
        freezer.tick()  # 100.6: still too soon (4 s)
        assert gc.get_freeze_count() == 0
        freezer.tick()  # 110.0: due
        assert gc.get_freeze_count() > 0
    finally:
        freezer.thaw()

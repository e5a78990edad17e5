"""The run view: a program recorded live, or a saved trace, on a timeline you can play.

The screen is the Textual glue: its reactives (the playhead, the step at it and the selection:
a task, or a coroutine's group; the widgets are bound to them), keys, timers, workers and
dialogs. It finds what the search bar asks for (``model.search``) and counts the census
(``model.census``) off the UI thread for a saved trace. The playback clock
and the live feed are plain Python (``loopviz.app.state``). Live records are folded into the
model at most ten times a second on the UI thread; while the run goes on the playhead
follows "now" until the user moves it.
"""

from __future__ import annotations

import gc
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, get_current_worker

from loopviz.app.screens.path_prompt import PathPrompt
from loopviz.app.state import FRAME, Freezer, LiveFeed, Pacer, Playback
from loopviz.app.target import Run
from loopviz.app.widgets.event_log import EventLog
from loopviz.app.widgets.inspector import Inspector
from loopviz.app.widgets.loop_panel import LoopPanel
from loopviz.app.widgets.narration import Narration
from loopviz.app.widgets.output import OutputPane
from loopviz.app.widgets.search_bar import SearchBar
from loopviz.app.widgets.source import SourcePane
from loopviz.app.widgets.summary import SummaryPane
from loopviz.app.widgets.timeline_view import CORO, PROCESS, RESOURCE, Row, TimelineView
from loopviz.catalog import bundled_folder
from loopviz.model import search, words
from loopviz.model.census import Census, Stretch
from loopviz.model.groups import FOLD_AT
from loopviz.model.steps import Step, snapshot
from loopviz.model.timeline import Timeline
from loopviz.record.program import Program
from loopviz.trace import EndReason, Record, TraceError, decode_lines, parse_header
from loopviz.units import format_time

if TYPE_CHECKING:  # the recorder is loaded when a program is first run, not at startup
    from loopviz.record.process import Recording, RunResult

DRAIN = 0.1  # how often live records are folded into the model, seconds
FOLD_SLICE = 500  # live records folded at a time (a few ms at most) ...
FOLD_BUDGET = 0.02  # ... until this many seconds went: the rest waits for the next drain
CENSUS_LIVE_SLICE = 20_000  # a live run's events counted per drain, at most
CENSUS_SLICE = 2_000  # events counted at a time (about 2 ms), then a rest: the screen goes first
NOTICE = 2.0  # how long a repeated notice (no more steps) stays, seconds


class RunScreen(Screen[None]):
    """Owns the playhead and the selection (a task or a coroutine's group), the playback
    clock and the live recording."""

    # Shown above the keys by the help (``?``).
    HELP = words.RUN_VIEW_HELP + words.STEP_VIEW_HELP + words.CENSUS_HELP

    # The footer shows the keys a user needs first; the rest are in the command palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "play_pause", "Play", tooltip="Play/Pause"),
        Binding("right", "step(1)", "Next", key_display="→", tooltip="Next step"),
        Binding("a", "axis", "Steps", tooltip="Play step by step, or by time"),
        Binding("x", "stop", "Stop"),
        Binding("r", "rerun", "Re-run"),
        Binding("s", "save", "Save", tooltip="Save the trace", show=False),
        Binding("q,escape", "back", "Back"),  # to the picker; one of the two is shown
        Binding("q,escape", "quit_app", "Quit"),  # opened on one program or trace
        Binding("z", "zoom(0.5)", "Zoom", tooltip="Zoom in"),
        Binding("f", "fit", "Fit"),
        Binding("m", "maximize", "Max", tooltip="Maximize the timeline / restore the panes"),
        Binding(
            "slash", "search", "Find", key_display="/", tooltip="Find and filter tasks", show=False
        ),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N,shift+n", "match(-1)", "Previous match", key_display="N", show=False),
        Binding(
            "enter",
            "fold",
            "Fold",
            tooltip="Fold / unfold the selected group or child process",
            show=False,
        ),
        Binding(
            "shift+down,right_curly_bracket",
            "group_step(1)",
            "Next group",
            key_display="shift+↓",
            show=False,
        ),
        Binding(
            "shift+up,left_curly_bracket",
            "group_step(-1)",
            "Previous group",
            key_display="shift+↑",
            show=False,
        ),
        Binding(
            "w",
            "worst('ready')",
            "Most starved",
            tooltip="Jump to the longest ready wait",
            show=False,
        ),
        Binding(
            "W,shift+w",
            "worst('step')",
            "Longest step",
            key_display="W",
            tooltip="Jump to the longest step",
            show=False,
        ),
        Binding(
            "C,shift+c",
            "census",
            "Census",
            key_display="C",
            tooltip="Show / hide the census",
            show=False,
        ),
        Binding(
            "g",
            "group",
            "Group",
            tooltip="Unfold / fold asyncio's and libraries' tasks",
            show=False,
        ),
        Binding(
            "R,shift+r",
            "resources",
            "Resources",
            key_display="R",
            tooltip="Unfold / fold the lanes of locks, semaphores, queues...",
            show=False,
        ),
        Binding(
            "u", "startup", "Start-up", tooltip="Show / fold the program's start-up", show=False
        ),
        Binding(
            "c",
            "letters",
            "Letters",
            tooltip="Mark each kind of wait with a letter (colour-blind)",
            show=False,
        ),
        Binding("left", "step(-1)", "Prev step", key_display="←", show=False),
        Binding("F", "follow", "Follow", tooltip="Select the task each step is about", show=False),
        Binding("right_square_bracket", "task_step(1)", "Task next", key_display="]", show=False),
        Binding("left_square_bracket", "task_step(-1)", "Task prev", key_display="[", show=False),
        Binding("down", "select(1)", "Next task", key_display="↓", show=False),
        Binding("up", "select(-1)", "Prev task", key_display="↑", show=False),
        Binding("home", "jump(0)", "Start", show=False),
        Binding("end", "jump(1)", "End", show=False),
        Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+", show=False),
        Binding("minus", "speed(-1)", "Slower", key_display="-", show=False),
        Binding("Z,shift+z", "zoom(2)", "Zoom out", key_display="Z", show=False),
        Binding("shift+right,l", "pan(0.25)", "Pan right", show=False),
        Binding("shift+left,h", "pan(-0.25)", "Pan left", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
    ]

    playhead: reactive[int] = reactive(0, init=False)
    step: reactive[int] = reactive(-1, init=False)  # the last event at the playhead (-1: none)
    selected: reactive[int] = reactive(0, init=False)
    group: reactive[str] = reactive("", init=False)  # a selected coroutine's group (its key)
    resource: reactive[int] = reactive(0, init=False)  # a selected resource (its id)
    process: reactive[int] = reactive(0, init=False)  # a selected child process (its number)

    def __init__(
        self, path: Path, *, live: bool, title: str = "", module: str = "", run: Run | None = None
    ) -> None:
        """``path`` is a program to record (``live``; a ``module`` is run as ``python -m``
        from ``path``'s folder, with ``run``'s arguments and timeout) or a trace to open."""
        super().__init__()
        self.path = path
        self.program = Program(path.parent, module) if module else Program(path)
        self.run = run or Run()
        self.live = live
        self.run_title = title or path.name
        self.timeline: Timeline | None = None
        self.recording: Recording | None = None
        self.recorder_worker: Worker[None] | None = None  # done once its end is shown
        self.trace_path: Path | None = None if live else path
        self.playback = Playback(following=live)
        self.feed = LiveFeed()
        # A --window run renews its model from the trace each time the trace drops its start:
        # meanwhile, the batches taken (with the index of their first record) to add again.
        self._since_renewal: list[tuple[int, list[Record]]] | None = None
        self._cuts = 0
        self.message = ""
        self._refresh_due = False
        self._last_notice, self._last_notice_until = "", 0.0
        self.follow = False  # the selection follows each step's task (on when playing by steps)
        self._summary_pace = Pacer()  # a live run's summary is shown again when due
        self._view_pace = Pacer(0.2, DRAIN)  # ... and its lanes drawn again
        self._freezer = Freezer()  # a live run's model kept out of the collector's full passes
        self.census: Census | None = None
        self.matches: list[int] = []  # the tasks the search found, in creation order
        self._worst: dict[str, int] = {"ready": -1, "step": -1}  # the last rank jumped to
        self._hinted = False  # said how to find one's way among many tasks

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        view = TimelineView(id="timeline").data_bind(
            RunScreen.playhead,
            RunScreen.step,
            RunScreen.selected,
            selected_group=RunScreen.group,
            selected_resource=RunScreen.resource,
            selected_process=RunScreen.process,
        )
        view.border_title = "timeline"
        yield view
        yield SearchBar(id="search")
        yield Narration(id="narration")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield Inspector(id="inspector")
                yield SummaryPane(id="summary")
            yield LoopPanel(id="loop")
            yield SourcePane(search=(self.path.parent, bundled_folder()), id="source")
            yield OutputPane(id="output")
        yield EventLog(id="events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#inspector").border_title = "task"
        self.query_one("#source").border_title = "source"
        self.query_one("#output").border_title = "output"
        self.query_one("#summary").border_title = "summary"
        self.query_one("#loop").border_title = "event loop"
        self.query_one(TimelineView).focus()
        self._player = self.set_interval(FRAME, self._tick, pause=True)
        self._drainer = self.set_interval(DRAIN, self._drain)
        if self.live:
            self._start_recording()
        else:
            self.view.loading = True
            self._load_trace(self.path)
        self._update_title()

    def on_unmount(self) -> None:
        """A run not saved (``s`` copies it) is not kept once the user leaves it."""
        if self.recording is not None:
            self.recording.discard()
        self._freezer.thaw()

    # --- getting the data -----------------------------------------------------------------
    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    @work(thread=True, exclusive=True, group="load")
    def _load_trace(self, path: Path) -> None:
        """Reading a big trace takes seconds: do it off the UI thread."""
        try:
            timeline = Timeline.from_file(path)
        except TraceError as exc:
            self.app.call_from_thread(self._fail, str(exc))
            return
        timeline.moment_index(0)  # events in time order now: the census reads them meanwhile
        self.app.call_from_thread(self._set_timeline, timeline)

    @work(thread=True, exclusive=True, group="census")
    def _count(self, timeline: Timeline) -> None:
        """The census of a big trace takes a second or two: count it off the UI thread, a
        slice at a time, letting the screen draw in between (they share the interpreter)."""
        census = Census(timeline, fold=False)
        while not census.update(most=CENSUS_SLICE):
            if get_current_worker().is_cancelled:
                return
            time.sleep(0.001)
        self.app.call_from_thread(self._set_census, timeline, census)

    def _set_census(self, timeline: Timeline, census: Census) -> None:
        if timeline is self.timeline:
            self.census = census
            self.view.set_census(census)

    def _set_timeline(self, timeline: Timeline) -> None:
        # A big trace is millions of long-lived objects: keep them out of the collector's
        # full passes, each of which otherwise stalls a frame by a few hundred ms.
        gc.freeze()
        self.view.loading = False
        self.timeline = timeline
        self.view.set_timeline(timeline)
        self._count(timeline)
        self.view.fit()
        self._select_first()
        self._hint_at_scale()
        for warning in timeline.warnings:
            self.notify(warning, severity="warning")
        self._show_time(0)
        self._refresh_panes()
        self._show_summary()

    def _start_recording(self) -> None:
        from loopviz.record.process import Recording

        if self.recording is not None:  # a re-run replaces the run before
            self.recording.discard()
            self._freezer.thaw()
        on_records = self.feed.new_run()
        self.timeline = None
        self.census = None
        self.message = ""
        self._worst = {"ready": -1, "step": -1}
        self._clear_search()
        self.view.set_timeline(None)
        self._freezer.settle()  # the app as it is now first, while the program starts
        self.playback.following = True
        run = self.run
        self.recording = Recording(
            self.program,
            args=run.args,
            timeout=run.timeout,
            no_uvloop=run.no_uvloop,
            on_records=on_records,
            window=run.window,
        )
        self._since_renewal, self._cuts = None, 0
        self.trace_path = self.recording.trace_path
        self.recorder_worker = self._run_recording(self.recording)
        self._show_summary()

    @work(thread=True, group="run")
    def _run_recording(self, recording: Recording) -> None:
        try:
            recording.start()
            result = recording.wait()
        except Exception as exc:  # the recorder's own failure: say so, keep the app up
            if recording is self.recording:
                self.app.call_from_thread(self._fail, f"could not run {self.path.name}: {exc}")
            return
        self.app.call_from_thread(self._run_ended, recording, result)

    def _drain(self) -> None:
        """Fold in what arrived, a slice at a time for at most ``FOLD_BUDGET`` (the rest
        waits for the next drain: a frame never waits on a backlog); while the run goes on,
        move the model to the clock's "now" even without records, so a program blocking its
        loop shows its red bar growing. Fallen behind for good, it stops and says so."""
        feed, recording = self.feed, self.recording
        if recording is None or (self.timeline is None and not feed.backlog):
            return
        if feed.behind:
            if recording.running:
                self._fell_behind()
            return
        if self._since_renewal is None and recording.cuts > self._cuts and recording.running:
            self._cuts = recording.cuts
            self._since_renewal = []
            self._renew(recording)
        if self.timeline is None:
            self.timeline = Timeline(recording.header)
            self.census = Census(self.timeline)
            self.view.set_timeline(self.timeline, self.census)
        timeline = self.timeline
        live = recording.running and not timeline.finished
        if not feed.backlog and not live:
            return
        with self.app.batch_update():
            deadline = time.monotonic() + FOLD_BUDGET
            folded = feed.backlog > 0
            while feed.backlog and time.monotonic() < deadline:
                batch = feed.take(FOLD_SLICE)
                if self._since_renewal is not None:  # a renewal under way adds it again
                    self._since_renewal.append((feed.taken - len(batch), batch))
                timeline.add(batch)
            if folded:  # after this frame: a key press may come first
                self.call_later(self._freezer.tick)
            if live and timeline.header is not None and not feed.backlog:
                timeline.advance_to(time.monotonic_ns() - timeline.header.clock_origin_ns)
            if self.census is not None:
                self.census.update(most=CENSUS_LIVE_SLICE)
            now = time.monotonic()
            # The lanes are drawn again as the run grows, but for at most a fifth of the
            # time: at scale a redraw costs tens of ms, and a key press waits for it.
            if self._view_pace.due(now) or self.timeline.finished:
                view = self.view
                view.data_changed()
                self._view_pace.ran(now, now + view.redraw_cost)
                if not (self.selected or self.group or self.resource):
                    self._select_first()
                self._hint_at_scale()
                if self.playback.following:
                    view.follow_end()
                    self._show_time(self.timeline.end)
                else:
                    self._update_title()
            if self._summary_pace.due(now) or self.timeline.finished:
                self._show_summary()
                self._summary_pace.ran(now, time.monotonic())

    @work(thread=True, group="window", exclusive=True)
    def _renew(self, recording: Recording) -> None:
        """A --window run dropped the start of its trace: build the model anew from the trace
        (what it keeps), off the UI thread, so that the app holds no more than the trace."""
        data, delivered = recording.snapshot(lambda: self.feed.received)
        lines = data.split(b"\n")
        try:
            header = parse_header(lines[0], str(recording.trace_path))
        except TraceError:
            return
        timeline = Timeline(header)
        timeline.add(decode_lines(line for line in lines[1:] if line))
        census = Census(timeline)
        census.update()
        self.app.call_from_thread(self._renewed, recording, timeline, census, delivered)

    def _renewed(
        self, recording: Recording, timeline: Timeline, census: Census, delivered: int
    ) -> None:
        """Swap the renewed model in, with what arrived after its trace was read."""
        batches, self._since_renewal = self._since_renewal or [], None
        if recording is not self.recording:
            return
        for start, batch in batches:
            if start + len(batch) > delivered:
                timeline.add(batch[max(delivered - start, 0) :])
        self.feed.skip_to(delivered)  # what still waits, the trace it was built from held
        census.update()
        if self.selected and all(info.id != self.selected for info in timeline.tasks):
            self.selected = 0  # a task the trace no longer holds: the first row is selected
        self.timeline, self.census = timeline, census
        self.view.set_timeline(timeline, census)
        self._drain()
        self._show_summary()

    def _fell_behind(self) -> None:
        """The run goes faster than the app can show it: what was shown stays, the rest is
        dropped (the app's memory stays bounded) and shown from the trace once the run ends."""
        if self.timeline is not None and self.message != words.BEHIND:
            self._freezer.settle()  # what was folded stays as it is
            self.message = words.BEHIND
            self.notify(self.message, severity="warning", timeout=8)
            self._show_summary()

    def _run_ended(self, recording: Recording, result: RunResult) -> None:
        if recording is not self.recording or not self.is_attached:
            return  # a run replaced by a re-run, or a screen (an app) closing meanwhile
        if self.feed.behind and self.trace_path is not None:  # shown whole, from the trace
            self.message = ""
            self.view.loading = True
            self._load_trace(self.trace_path)
        else:
            self._drain()
        error = (self.timeline.exit.error if self.timeline else "") or result.error
        if result.reason != EndReason.EXITED or error or result.status != 0:
            ended = f"{self.path.name} {words.ending(result.reason, result.status, error)}"
            self.notify(ended, severity="error" if error else "warning", timeout=6)
            if self.timeline is None:  # else the summary pane says how the program ended
                self.message = ended
        self._show_summary()
        self._update_title()

    def _fail(self, message: str) -> None:
        self.view.loading = False
        self.message = message
        self.notify(message, severity="error", timeout=8)
        self._show_summary()

    # --- showing ----------------------------------------------------------------------------
    def _show_summary(self) -> None:
        live = self.recording is not None and self.recording.running
        self.query_one(SummaryPane).show(self.timeline, self.message, live=live)

    def _refresh_panes(self) -> None:
        t, timeline, index = self.playhead, self.timeline, self.step
        self._refresh_due = False
        inspector = self.query_one(Inspector)
        inspector.border_title = (
            "resource" if self.resource else "process" if self.process else "task"
        )
        if self.process and timeline is not None and self.process < len(timeline.processes):
            info = timeline.processes[self.process]
            busy, _ = info.loop_totals(timeline.end)
            tasks = len(self.view.process_tasks(self.process))
            untraced = timeline.untraced_loops.get(self.process, [])
            inspector.show_process(info, tasks, busy, untraced, timeline.finished)
        elif self.group and timeline is not None and self.group in self.view.grouping.groups:
            group = self.view.grouping.groups[self.group]
            inspector.show_group(timeline, group, self.view.group_stats(self.group))
        elif self.resource and timeline is not None:
            inspector.show_resource(timeline, self.resource, t)
        else:
            self.query_one(Inspector).show(timeline, t, self.selected)
        self.query_one(SourcePane).show(timeline, t, self.selected)
        self.query_one(OutputPane).show(timeline, t)
        self.query_one(EventLog).show(timeline, index)
        step = None
        if timeline is not None and 0 <= index < timeline.moment_count():
            step = Step(index, timeline.moment(index), snapshot(timeline, index))
        live = self.recording is not None and self.recording.running
        self.query_one(LoopPanel).show(timeline, step.loop if step else None)
        self.query_one(Narration).show(timeline, step, live=live)
        self._update_title()

    def _refresh_soon(self) -> None:
        """Redraw the panes once after this round of changes (the playhead and the step
        often change together)."""
        if not self._refresh_due:
            self._refresh_due = True
            self.call_after_refresh(self._refresh_panes)

    def _update_title(self) -> None:
        """Play state, speed and time first: a narrow screen cuts the scenario's title."""
        end = self.timeline.end if self.timeline else 0
        live = self.recording is not None and self.recording.running
        playback = self.playback
        if live and playback.following:
            state, live_mark = "● live, following", ""
        else:
            rate = f"{playback.pace:g} step/s" if playback.by_steps else f"{playback.speed:g}×"
            state = f"{'▶ playing' if playback.playing else '‖ paused'} {rate}"
            live_mark = " ● live" if live else ""
        self.query_one("#title", Static).update(
            f" {state}  {_clock(self.playhead)} / {_clock(end)}{live_mark}"
            f"  · {self.run_title} · loopviz"
        )

    def watch_playhead(self, t: int) -> None:
        self.view.reveal(t, self.step)  # keep the playhead on screen
        self._refresh_soon()

    def watch_step(self, index: int) -> None:
        self.view.reveal(self.playhead, index)
        self._refresh_soon()

    def watch_selected(self) -> None:
        self._refresh_soon()

    def watch_group(self) -> None:
        self._refresh_soon()

    def watch_resource(self) -> None:
        self._refresh_soon()

    def watch_process(self) -> None:
        self._refresh_soon()

    def _show_time(self, t: int) -> None:
        """The playhead at ``t``, at the last event by then."""
        if self.timeline is not None:
            self.step = self.timeline.moment_index(t)
        self.playhead = t

    def _show_step(self, index: int) -> None:
        """The playhead on event ``index``; the selection follows its task if asked to."""
        timeline = self.timeline
        if timeline is None or not 0 <= index < timeline.moment_count():
            return
        self.step = index
        self.playhead = timeline.moment_time(index)
        task = timeline.moment(index).task
        if self.follow and task and task in self.view.task_ids:  # not into what is folded
            self._select_task(task)

    def _move(self, to: int | None = None) -> None:
        """Show what the playback says: the playhead at ``to`` (a time, or a step number when
        playing by steps), the play timer, the title."""
        if self.playback.playing:
            self._player.resume()
        else:
            self._player.pause()
        if to is None:
            self._update_title()
        elif self.playback.by_steps:
            self._show_step(to)
        else:
            self._show_time(to)

    def _tick(self) -> None:
        if not self.playback.playing:  # a tick queued before the pause
            return
        self._move(self.playback.tick(*self._position(), time.monotonic()))

    def _position(self) -> tuple[int, int]:
        """Where the playhead is and where it ends: by time, or by step number."""
        timeline = self.timeline
        if timeline is None:
            return 0, 0
        if self.playback.by_steps:
            return self.step, timeline.moment_count() - 1
        return self.playhead, timeline.end

    # --- actions ------------------------------------------------------------------------------
    def action_play_pause(self) -> None:
        if self.timeline is None:
            return
        self._move(self.playback.toggle(*self._position(), time.monotonic()))

    def action_step(self, direction: int) -> None:
        self._step(direction, 0)

    def action_task_step(self, direction: int) -> None:
        if self.selected:
            self._step(direction, self.selected)

    def _step(self, direction: int, task_id: int) -> None:
        if self.timeline is None:
            return
        index = self.playback.step(self.timeline, self.step, direction, task_id)
        if index is None:
            self._notify_once(words.no_more_steps(direction > 0))
            self._move()
            return
        self._move()
        self._show_step(index)

    def _notify_once(self, message: str) -> None:
        """A notice that a held key would repeat: shown once while it is on screen."""
        now = time.monotonic()
        if (message, True) == (self._last_notice, now < self._last_notice_until):
            return
        self._last_notice, self._last_notice_until = message, now + NOTICE
        self.notify(message, timeout=NOTICE)

    def action_axis(self) -> None:
        """Play step by step (each event one step and one column of the timeline, the
        selection following its task) or by time; the playhead, the selection and the
        events in view stay."""
        playback = self.playback
        playback.by_steps = not playback.by_steps
        playback.playing = False
        self.follow = playback.by_steps
        self.set_class(playback.by_steps, "-steps")
        self.view.use_steps(playback.by_steps)
        self.view.scroll_to_task(self.selected)
        self._move()
        self.notify(words.playing_by(playback.by_steps), timeout=NOTICE)

    def action_follow(self) -> None:
        self.follow = not self.follow
        self.notify(words.following(self.follow), timeout=2)

    def action_jump(self, where: int) -> None:
        if self.timeline is None:
            return
        live = self.recording is not None and self.recording.running
        self._move(self.playback.jump(bool(where), self._position()[1], live=live))

    def action_speed(self, direction: int) -> None:
        self.playback.change_speed(direction)
        self._move()

    def _hint_at_scale(self) -> None:
        """Once a run has more tasks than a screen shows, say how to find one's way."""
        timeline = self.timeline
        if not self._hinted and timeline is not None and len(timeline.tasks) > FOLD_AT:
            self._hinted = True
            self.notify(words.AT_SCALE, timeout=8)

    # --- the selection: a task, a coroutine's group or a resource ------------------------------
    def _select_task(self, task_id: int) -> None:
        self.group = ""
        self.resource = self.process = 0
        self.selected = task_id

    def _select_group(self, key: str) -> None:
        self.selected = self.resource = self.process = 0
        self.group = key

    def _select_resource(self, resource_id: int) -> None:
        self.selected = self.process = 0
        self.group = ""
        self.resource = resource_id

    def _select_process(self, proc: int) -> None:
        self.selected = self.resource = 0
        self.group = ""
        self.process = proc

    def _select_row(self, row: Row) -> None:
        if row.kind == CORO:
            self._select_group(str(row.key))
        elif row.kind == PROCESS:
            self._select_process(int(row.key))
        elif row.kind == RESOURCE:
            self._select_resource(int(row.key))
        else:
            self._select_task(int(row.key))

    def _select_first(self) -> None:
        rows = self.view.selectable
        if rows:
            self._select_row(rows[0])

    def _selected_index(self, rows: list[Row]) -> int | None:
        """Where the selection is among ``rows`` (None: not among them)."""
        key: int | str = self.group or self.resource or self.process or self.selected
        kind = (
            CORO
            if self.group
            else RESOURCE
            if self.resource
            else PROCESS
            if self.process
            else "task"
        )
        return next((i for i, row in enumerate(rows) if row.kind == kind and row.key == key), None)

    def action_select(self, direction: int) -> None:
        rows = self.view.selectable
        if not rows:
            return
        index = self._selected_index(rows)
        index = -direction if index is None else index
        self._select_row(rows[max(0, min(len(rows) - 1, index + direction))])

    def action_group_step(self, direction: int) -> None:
        """Select the next (or previous) coroutine's group row."""
        rows = self.view.selectable
        index = self._selected_index(rows)
        order = range(len(rows)) if direction > 0 else range(len(rows) - 1, -1, -1)
        start = -1 if index is None and direction > 0 else len(rows) if index is None else index
        for i in order:
            if (i - start) * direction > 0 and rows[i].kind == CORO:
                self._select_row(rows[i])
                return
        self.notify(words.NO_MORE_GROUPS, timeout=1.5)

    def action_fold(self) -> None:
        """Fold or unfold the selected group or child process, or the group of the selected
        task."""
        view = self.view
        if self.process:
            view.toggle_process(self.process)
            view.call_after_refresh(self._select_process, self.process)  # (scrolled to)
            return
        key = self.group or view.group_of(self.selected)
        if not key:
            self.notify(words.NOTHING_TO_FOLD, timeout=2)
            return
        view.toggle_fold(key)
        if view.has_row(CORO, key):
            self._select_group(key)
            view.scroll_to_group(key)
        else:  # a small group unfolded back to its tasks' places: the first of them
            self._select_task(view.members(key)[0])

    def on_timeline_view_task_clicked(self, message: TimelineView.TaskClicked) -> None:
        self._select_task(message.task_id)

    def on_timeline_view_group_clicked(self, message: TimelineView.GroupClicked) -> None:
        self._select_group(message.key)
        self.action_fold()

    def on_timeline_view_process_clicked(self, message: TimelineView.ProcessClicked) -> None:
        self._select_process(message.proc)
        self.action_fold()

    def on_timeline_view_resource_clicked(self, message: TimelineView.ResourceClicked) -> None:
        self._select_resource(message.resource_id)

    def on_timeline_view_resources_clicked(self, message: TimelineView.ResourcesClicked) -> None:
        self.action_resources()

    def action_resources(self) -> None:
        view = self.view
        view.toggle_resources()
        if self.resource and not view.resources_open:  # its lane folded away: none selected
            self._select_first()

    # --- finding tasks -------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one(SearchBar).open()

    def on_search_bar_changed(self, message: SearchBar.Changed) -> None:
        self._apply_search(message.query)

    def on_search_bar_closed(self, message: SearchBar.Closed) -> None:
        if message.keep:
            self.query_one(SearchBar).close(clear=False)
            if self.matches and self.selected not in self.matches:
                self._go_to_task(self.matches[0])
        else:
            self._clear_search()
        self.view.focus()

    def _apply_search(self, text: str) -> None:
        """Filter the lanes to the tasks matching ``text`` and say how many did."""
        timeline, bar = self.timeline, self.query_one(SearchBar)
        query = search.parse(text)
        if timeline is None or not query:
            self.matches = []
            self.view.set_filter(None)
            self.view.border_title = "timeline"
            bar.show_result(words.SEARCH_KEYS)
            return
        self.matches = search.matches(timeline, query, self.playhead)  # none for no state
        states = any(field == "state" for field, _ in query.terms)
        said = words.search_result(
            query.text, len(self.matches), len(timeline.tasks), self.playhead, states
        )
        self.view.set_filter(frozenset(self.matches))
        self.view.border_title = f"timeline · {said}"
        bar.show_result(words.unknown_states(query.unknown) if query.unknown else said)

    def _clear_search(self) -> bool:
        """Clear the filter (False: there was none)."""
        bar = self.query_one(SearchBar)
        had = self.view.filter is not None
        self.matches = []
        bar.close(clear=True)
        self.view.set_filter(None)
        self.view.border_title = "timeline"
        return had

    def action_match(self, direction: int) -> None:
        """Select the next (or previous) task that matches the search."""
        matches = self.matches
        if not matches:
            self.notify(words.NO_MATCH_TO_GO_TO, timeout=2)
            return
        if self.selected in matches:
            index = (matches.index(self.selected) + direction) % len(matches)
        else:
            index = 0 if direction > 0 else len(matches) - 1
        self._go_to_task(matches[index])

    def _go_to_task(self, task_id: int) -> None:
        """Select a task, unfolding what hides it (a filter that leaves it out is cleared)."""
        view = self.view
        if not view.reveal_task(task_id):
            self._clear_search()
            self.notify(words.FILTER_CLEARED, timeout=2)
            view.reveal_task(task_id)
        self._select_task(task_id)
        view.scroll_to_task(task_id)

    # --- the worst -------------------------------------------------------------------------------
    def action_worst(self, what: str) -> None:
        """Go to the longest wait in the ready queue (or the longest step), then at each press
        the next longest: the task selected, the playhead where it began, all of it in view."""
        timeline, census = self.timeline, self.census
        if timeline is None:
            return
        if census is None:
            self.notify(words.CENSUS_COUNTING, timeout=2)
            return
        rank = self._worst[what] + 1
        find = census.longest_ready if what == "ready" else census.longest_step
        found = find(rank)
        if found is None:  # past the last: from the longest again
            rank, found = 0, find(0)
        if found is None:
            self.notify(words.NO_READY_WAIT if what == "ready" else words.NO_STEP, timeout=3)
            return
        self._worst[what] = rank
        self._go_to_task(found.task)
        self._show_stretch(found)
        said = words.worst_ready if what == "ready" else words.worst_step
        self.notify(said(timeline, found, rank), timeout=6)

    def _show_stretch(self, stretch: Stretch) -> None:
        """The playhead at the stretch's start, the whole of it in view."""
        timeline = self.timeline
        assert timeline is not None
        self.playback.playing = False
        self.playback.following = False
        self._move()
        if self.playback.by_steps:
            self._show_step(timeline.moment_index(stretch.start))
        else:
            self._show_time(stretch.start)
            length = max(stretch.length, 1)
            self.view.set_window(stretch.start - length, 3 * length)

    def action_census(self) -> None:
        self.view.toggle_census()

    def on_timeline_view_step_clicked(self, message: TimelineView.StepClicked) -> None:
        self.playback.playing = False
        self.playback.following = False
        self._move()
        self._show_step(message.index)

    def on_timeline_view_moved(self, message: TimelineView.Moved) -> None:
        self.playback.following = False  # a live run's window stays where the user put it
        self._update_title()

    def action_zoom(self, factor: float) -> None:
        self.playback.following = False
        self.view.zoom(factor)

    def action_fit(self) -> None:
        self.view.fit()

    def action_pan(self, fraction: float) -> None:
        self.playback.following = False
        self.view.pan(fraction)

    def action_group(self) -> None:
        self.view.toggle_group()

    def action_startup(self) -> None:
        self.view.toggle_startup()

    def action_maximize(self) -> None:
        """The timeline takes the whole screen (the panes are hidden), or gives it back."""
        self.toggle_class("-maximized")
        self.view.scroll_to_task(self.selected)

    def action_letters(self) -> None:
        self.view.letters = not self.view.letters

    def action_page(self, direction: int) -> None:
        view = self.view
        view.scroll_to(y=view.scroll_y + direction * max(1, view.size.height - 3), animate=False)

    def action_stop(self) -> None:
        if self.recording is not None and self.recording.running:
            self.recording.stop()
            self.notify("stopping the run…", timeout=2)
        else:
            self.notify("nothing is running", timeout=2)

    def action_rerun(self) -> None:
        self.playback.playing = False
        self._select_task(0)
        self._show_time(0)
        self._move()
        self.query_one(SourcePane).reread()  # the program may have been edited since
        self._start_recording()

    def action_help(self) -> None:
        """Every key (the footer shows only the main ones), beside the screen."""
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
        else:
            self.app.action_show_help_panel()

    def action_save(self) -> None:
        if self.trace_path is None:
            self.notify("no trace to save yet", severity="warning")
            return
        default = f"{self.path.name.removesuffix('.py').removesuffix('.trace.jsonl')}.trace.jsonl"
        self.app.push_screen(PathPrompt("Save the trace as", default), self._save_to)

    def _save_to(self, name: str | None, replace: Path | None = None) -> None:
        """Copy the trace to ``name``; an existing other file only once the user confirms."""
        if not name or self.trace_path is None:
            return
        target = Path(name).expanduser()
        same = target.exists() and target.resolve() == self.trace_path.resolve()
        if target.exists() and not same and target != replace:
            prompt = PathPrompt(f"{target.name} exists: enter replaces it", name)
            self.app.push_screen(prompt, lambda again: self._save_to(again, replace=target))
            return
        if same and self.recording is not None:
            self.recording.temporary = False  # saved where it is: kept
        try:
            if not same:
                shutil.copyfile(self.trace_path, target)
        except OSError as exc:
            self.notify(f"could not save {target}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {target}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("back", "quit_app"):
            return (action == "back") == self._from_picker
        if action in ("stop", "rerun"):  # a saved trace has no program to stop or run again
            return self.live
        return True

    @property
    def _from_picker(self) -> bool:
        return len(self.app.screen_stack) > 2

    def action_back(self) -> None:
        if not self._clear_search():  # Esc clears a filter first
            self.app.pop_screen()

    def action_quit_app(self) -> None:
        if not self._clear_search():
            self.app.exit()


def _clock(ns: int) -> str:
    """A time on the clock: the start reads "0 s", not "0 ns"."""
    return format_time(ns) if ns else "0 s"

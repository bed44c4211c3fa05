"""What a run prints while it works: one line per stage with its wall time, bars on a terminal.

::

      ✓ data             4096 samples of archimedean_spiral, shape [2]  0.1 s
      ✓ training         200 epochs  12.3 s  loss 0.00123

Everything goes to stderr, so stdout stays for data (``geokeras render``, ``schema``,
``compare``). On a terminal a running stage shows a spinner and long loops (training epochs,
OT solver steps, sweep points) a bar with its ETA, both cleared when the stage line replaces
them. Anywhere else (a pipe, a log file, CI, a notebook) the output is plain text without
escape codes: the stage lines only, plus the lines a caller asks for (a line per epoch with
``train.verbose: 1``, the OT solver's periodic lines).

Code deep in a run reports through :func:`current_console`; :func:`use_console` sets the
console for the duration of a run (``geokeras.run`` does), and tests pass a
:class:`RunConsole` around a ``rich.console.Console`` that records.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

NAME_WIDTH = 15
"""Stage names are padded to this width, so that details line up."""
BAR_WIDTH = 16
"""Characters of a progress bar."""


def format_seconds(seconds: float) -> str:
    """``"12.3 s"`` below 100 s, ``"4 min 07 s"`` below an hour, else ``"2 h 05 min"``."""
    if seconds < 100:
        return f"{seconds:.1f} s"
    minutes, whole_seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {whole_seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Stage:
    """A stage being timed. Set ``detail`` (what it works on) and ``summary`` (its outcome) for its line."""

    name: str
    detail: str = ""
    summary: str = ""


class ProgressTask:
    """A bar over ``total`` units on a terminal; elsewhere only the lines passed to :meth:`note`.

    Call :meth:`close` when the loop ends (or use it as a context manager); closing twice is harmless.
    """

    def __init__(self, console: "RunConsole", task_id: Optional[TaskID], hides: Optional[TaskID] = None) -> None:
        self._console = console
        self._task_id = task_id
        self._hides = hides

    @property
    def live(self) -> bool:
        """True when a bar is drawn (a terminal): :meth:`note` lines are then left out."""
        return self._task_id is not None

    def update(self, completed: float, info: str = "") -> None:
        """Move the bar to ``completed`` units and show ``info`` (e.g. the current loss) beside it."""
        if self._task_id is not None:
            self._console._progress.update(self._task_id, completed=completed, info=info)

    def note(self, text: str) -> None:
        """A plain line where no bar is drawn (a log shows progress this way); nothing on a terminal."""
        if self._task_id is None:
            self._console.line(text)

    def close(self) -> None:
        if self._task_id is not None:
            self._console._remove_task(self._task_id)
            self._task_id = None
            self._console._show_task(self._hides)

    def __enter__(self) -> "ProgressTask":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RunConsole:
    """Stage lines, progress bars and plain lines on one ``rich`` console (stderr by default).

    Args:
        console: where to write; default a ``rich.console.Console`` on stderr. Escape codes and
            bars only when it is an interactive terminal (rich decides, honouring ``NO_COLOR``,
            ``FORCE_COLOR`` and ``TTY_COMPATIBLE``).
        quiet: print nothing at all.
    """

    def __init__(self, console: Optional[Console] = None, *, quiet: bool = False) -> None:
        self.console = console if console is not None else stderr_console()
        self.quiet = quiet
        self._progress: Optional[Progress] = None
        self._live_tasks = 0
        self._stage_tasks: list[TaskID] = []
        self.marks = ("✓", "✗") if self.console.encoding.lower().startswith("utf") else ("+", "x")
        """The marks of success and failure (ASCII where the console cannot encode ✓ and ✗)."""

    @property
    def live(self) -> bool:
        """True when spinners and bars are drawn: an interactive terminal, not quiet."""
        return not self.quiet and self.console.is_interactive

    # ------------------------------------------------------------------ output
    def line(self, text: str, style: Optional[str] = None) -> None:
        """One line of plain text (never wrapped, never parsed as markup)."""
        if not self.quiet:
            self.console.print(Text(text, style=style or ""), soft_wrap=True)

    @contextmanager
    def stage(self, name: str, detail: str = "", *, spinner: bool = True) -> Iterator[Stage]:
        """Time the block and print its line when it ends: ``✓ name  detail  12.3 s  summary``.

        On an exception the line reads ``✗ name  detail  failed after 3.2 s`` (``interrupted``
        for Ctrl-C) and the exception goes on; the caller prints the error itself. On a terminal
        a spinner shows the stage while it runs, unless ``spinner`` is false (a block that holds
        the process's stderr, where the spinner's drawing would be caught).
        """
        record = Stage(name, detail)
        task_id = self._add_task(name, total=None, unit="") if self.live and spinner else None
        if task_id is not None:
            self._stage_tasks.append(task_id)
        started = time.perf_counter()
        try:
            yield record
        except BaseException as error:
            self._remove_task(task_id)
            verb = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            self._stage_line(False, record, f"{verb} after {format_seconds(time.perf_counter() - started)}")
            raise
        self._remove_task(task_id)
        self._stage_line(True, record, format_seconds(time.perf_counter() - started))

    def progress(self, description: str, total: float, *, unit: str = "", completed: float = 0) -> ProgressTask:
        """A bar from ``completed`` to ``total`` ``unit`` (epochs, steps, points) with its ETA and an info text.

        The bar takes the place of the running stage's spinner until it is closed.
        """
        if not self.live:
            return ProgressTask(self, None)
        hides = self._stage_tasks[-1] if self._stage_tasks else None
        task_id = self._add_task(description, total=total, unit=unit, completed=completed)
        if hides is not None:
            self._progress.update(hides, visible=False)
        return ProgressTask(self, task_id, hides)

    # ------------------------------------------------------------------ internals
    def _stage_line(self, succeeded: bool, record: Stage, timing: str) -> None:
        if self.quiet:
            return
        mark, style = (self.marks[0], "green") if succeeded else (self.marks[1], "bold red")
        text = Text("  ")
        text.append(mark, style=style)
        text.append(" ")
        text.append(f"{record.name:<{NAME_WIDTH}}", style="bold")
        for part, part_style in ((record.detail, ""), (timing, "cyan"), (record.summary if succeeded else "", "")):
            if part:
                text.append("  ")
                text.append(part, style=part_style)
        self.console.print(text, soft_wrap=True)

    def _add_task(self, description: str, *, total: Optional[float], unit: str, completed: float = 0) -> TaskID:
        if self._progress is None:
            columns = _columns(self.console.width)
            self._progress = Progress(*columns, console=self.console, transient=True, refresh_per_second=4)
            self._progress.start()
        self._live_tasks += 1
        return self._progress.add_task(description, total=total, completed=completed, unit=unit, info="")

    def _show_task(self, task_id: Optional[TaskID]) -> None:
        if task_id is not None and task_id in self._stage_tasks and self._progress is not None:
            self._progress.update(task_id, visible=True)

    def _remove_task(self, task_id: Optional[TaskID]) -> None:
        if task_id is None or self._progress is None:
            return
        if task_id in self._stage_tasks:
            self._stage_tasks.remove(task_id)
        self._progress.remove_task(task_id)
        self._live_tasks -= 1
        if self._live_tasks == 0:
            self._progress.stop()
            self._progress = None


def stderr_console() -> Console:
    """A ``rich`` console on stderr that wraps nothing and reads no markup, emoji or highlights."""
    return Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


class _BarOrNothingColumn(BarColumn):
    """The bar of a task with a total; nothing for a stage's spinner (no total)."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


class _CountColumn(ProgressColumn):
    """``12/200 epochs``; nothing without a total."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{int(task.completed)}/{int(task.total)} {task.fields.get('unit', '')}".rstrip())


class _SpinnerElapsedColumn(TimeElapsedColumn):
    """The time a stage has run (a spinner); nothing for a bar, whose ETA matters more."""

    def render(self, task: Task) -> Text:
        return super().render(task) if task.total is None else Text("")


class _EtaColumn(TimeRemainingColumn):
    """``ETA 0:01:05``; nothing without a total."""

    def render(self, task: Task) -> Text:
        remaining = super().render(task)
        return remaining if task.total is None else Text("ETA ", style="dim") + remaining


_FIXED_WIDTH = 2 + 1 + NAME_WIDTH + BAR_WIDTH + 16 + 9 + 6
"""Columns of a bar before its info: indent, spinner, name, bar, ``12/200 epochs``, ETA, separators."""


def _columns(width: int) -> tuple[ProgressColumn, ...]:
    """Spinner, name, bar, count, elapsed, ETA, info: one row per task, the info cut to what the width leaves."""
    return (
        TextColumn("  "),
        SpinnerColumn(),
        TextColumn(f"{{task.description:<{NAME_WIDTH}}}", style="bold", table_column=Column(no_wrap=True)),
        _BarOrNothingColumn(bar_width=BAR_WIDTH),
        _CountColumn(table_column=Column(no_wrap=True)),
        _SpinnerElapsedColumn(table_column=Column(no_wrap=True)),
        _EtaColumn(compact=True, table_column=Column(no_wrap=True)),
        TextColumn(
            "{task.fields[info]}",
            table_column=Column(no_wrap=True, overflow="ellipsis", max_width=max(width - _FIXED_WIDTH, 8)),
        ),
    )


_CURRENT: contextvars.ContextVar[Optional[RunConsole]] = contextvars.ContextVar("geokeras_console", default=None)


def current_console() -> RunConsole:
    """The console of the run in progress (:func:`use_console`), else a new one on stderr."""
    console = _CURRENT.get()
    return console if console is not None else RunConsole()


@contextmanager
def use_console(console: RunConsole) -> Iterator[RunConsole]:
    """Make ``console`` the one :func:`current_console` returns inside the block."""
    token = _CURRENT.set(console)
    try:
        yield console
    finally:
        _CURRENT.reset(token)

"""The run's console: stage lines with times, bars only on a terminal, plain text elsewhere."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from geokeras.console import RunConsole, current_console, format_seconds, use_console

ANSI_ESCAPE = re.compile(r"\x1b\[")


class AsciiBuffer(io.StringIO):
    """A text stream that says it can encode ASCII only (rich reads ``file.encoding``)."""

    encoding = "ascii"


def recording(*, terminal: bool = False, ascii_only: bool = False) -> tuple[RunConsole, io.StringIO]:
    """A RunConsole writing to a string, as on a terminal (bars, escape codes) or a pipe."""
    buffer = AsciiBuffer() if ascii_only else io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, force_interactive=terminal, width=100)
    return RunConsole(console), buffer


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0 s"), (12.34, "12.3 s"), (99.9, "99.9 s"), (107.2, "1 min 47 s"), (3599.4, "59 min 59 s")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
    assert format_seconds(2 * 3600 + 5 * 60 + 10) == "2 h 05 min"


def test_stage_lines_come_in_order_with_name_detail_time_and_summary(monkeypatch):
    clock = iter([10.0, 10.25, 20.0, 32.34])
    monkeypatch.setattr("geokeras.console.time.perf_counter", lambda: next(clock))
    console, buffer = recording()
    with console.stage("data", "4096 samples of archimedean_spiral"):
        pass
    with console.stage("training", "200 epochs") as stage:
        stage.summary = "loss 0.00123"
    assert buffer.getvalue().splitlines() == [
        "  ✓ data             4096 samples of archimedean_spiral  0.2 s",
        "  ✓ training         200 epochs  12.3 s  loss 0.00123",
    ]


def test_a_failing_stage_says_so_and_the_error_goes_on(monkeypatch):
    clock = iter([0.0, 3.21])
    monkeypatch.setattr("geokeras.console.time.perf_counter", lambda: next(clock))
    console, buffer = recording()
    with pytest.raises(ValueError, match="boom"):
        with console.stage("OT solve", "newton onto 64 codes") as stage:
            stage.summary = "never shown"
            raise ValueError("boom")
    assert buffer.getvalue() == "  ✗ OT solve         newton onto 64 codes  failed after 3.2 s\n"


def test_an_interrupted_stage_says_interrupted():
    console, buffer = recording()
    with pytest.raises(KeyboardInterrupt):
        with console.stage("training"):
            raise KeyboardInterrupt
    assert buffer.getvalue().startswith("  ✗ training         interrupted after ")


def test_plain_output_has_no_escape_codes_and_no_bar():
    console, buffer = recording()
    assert not console.live
    with console.stage("training", "3 epochs"):
        with console.progress("training", 3, unit="epochs") as bar:
            assert not bar.live
            for epoch in range(3):
                bar.update(epoch + 1, f"loss {0.1 / (epoch + 1):.3g}")
            bar.note("a line for the log")
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "a line for the log"
    assert lines[1].startswith("  ✓ training         3 epochs  ")
    assert len(lines) == 2 and not ANSI_ESCAPE.search(buffer.getvalue())


def test_a_terminal_gets_a_bar_and_colours_and_the_stage_line_stays():
    console, buffer = recording(terminal=True)
    assert console.live
    with console.stage("training", "3 epochs") as stage:
        with console.progress("training", 3, unit="epochs") as bar:
            bar.note("left out: the bar shows it")
            bar.update(3, "loss 0.1")
            console._progress.refresh()
        stage.summary = "loss 0.1"
    text = buffer.getvalue()
    assert ANSI_ESCAPE.search(text)
    assert "3/3 epochs" in text and "ETA" in text and "loss 0.1" in text
    assert "left out" not in text
    plain = ANSI_ESCAPE.sub("", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    assert "✓ training         3 epochs" in plain
    assert console._progress is None  # the live display ends with its last task


def test_ascii_consoles_get_ascii_marks():
    console, buffer = recording(ascii_only=True)
    with console.stage("report"):
        pass
    assert buffer.getvalue().startswith("  + report ")


def test_quiet_prints_nothing():
    console = RunConsole(Console(file=io.StringIO(), force_terminal=True, force_interactive=True), quiet=True)
    assert not console.live
    with console.stage("training"):
        console.progress("training", 2).update(1)
        console.line("nothing")
    assert console.console.file.getvalue() == ""


def test_line_is_never_wrapped_nor_read_as_markup():
    console, buffer = recording()
    long = "runs/" + "x" * 300 + " [bold]not markup[/bold]"
    console.line(long)
    assert buffer.getvalue() == long + "\n"


def test_use_console_sets_the_current_console_for_the_block():
    console, _ = recording()
    with use_console(console):
        assert current_console() is console
    assert current_console() is not console


def test_the_default_console_writes_to_stderr(capsys):
    with current_console().stage("figures", "4 figures"):
        pass
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("  ✓ figures          4 figures  ")

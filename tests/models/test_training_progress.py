"""Training progress on the console, numbered as Keras: a bar over all epochs (1), a line per epoch (2), nothing (0)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from geokeras.console import RunConsole, use_console
from geokeras.models.training import TrainingProgress, train_autoencoder
from tests.models.test_training import circle, fresh_bundle, train_spec


class RecordingBar:
    """What ``RunConsole.progress`` returns, recording every update."""

    def __init__(self, description: str, total: float, unit: str) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.updates: list[tuple[float, str]] = []
        self.closed = 0

    def update(self, completed: float, info: str = "") -> None:
        self.updates.append((completed, info))

    def close(self) -> None:
        self.closed += 1


class RecordingConsole(RunConsole):
    """A plain console on a string that also records the bars asked for."""

    def __init__(self) -> None:
        super().__init__(Console(file=io.StringIO(), width=100))
        self.bars: list[RecordingBar] = []

    def progress(self, description: str, total: float, *, unit: str = "", completed: float = 0) -> RecordingBar:
        self.bars.append(RecordingBar(description, total, unit))
        return self.bars[-1]

    @property
    def text(self) -> str:
        return self.console.file.getvalue()


def fit(verbose: int, epochs: int = 3) -> RecordingConsole:
    console = RecordingConsole()
    with use_console(console):
        # 96 samples in batches of 32: 3 steps per epoch
        train_autoencoder(fresh_bundle(), circle(96), train_spec(epochs=epochs, verbose=verbose))
    return console


def test_verbose_1_moves_one_bar_over_all_epochs_with_the_loss():
    console = fit(verbose=1)
    assert len(console.bars) == 1
    bar = console.bars[0]
    assert (bar.description, bar.total, bar.unit, bar.closed) == ("training", 3, "epochs", 1)
    epoch_ends = [completed for completed, info in bar.updates if float(completed).is_integer() and info]
    assert epoch_ends[-1] == 3  # the last update: all three epochs done
    assert all(0 <= completed <= 3 for completed, _ in bar.updates)
    assert [completed for completed, _ in bar.updates] == sorted(completed for completed, _ in bar.updates)
    assert re.fullmatch(r"loss \d\.\d+(e-\d+)?", bar.updates[-1][1])
    assert console.text == ""  # Keras prints nothing either: fit(verbose=0)


def test_verbose_2_prints_a_line_per_epoch():
    console = fit(verbose=2)
    lines = console.text.splitlines()
    assert console.bars == []
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all(re.fullmatch(r"epoch \d/3  loss \S+  \d+\.\d s", line) for line in lines)


def test_verbose_0_prints_nothing():
    console = fit(verbose=0, epochs=1)
    assert console.bars == [] and console.text == ""


def test_batches_move_the_bar_within_an_epoch():
    progress = TrainingProgress(total_epochs=4, steps_per_epoch=4, verbose=1, refresh_seconds=0.0)
    bar = RecordingBar("training", 4, "epochs")
    progress._bar = bar
    progress.on_epoch_begin(1)
    progress.on_train_batch_end(1, {"loss": 0.25})
    progress.on_epoch_end(1, {"loss": 0.2, "val_loss": 0.3})
    assert bar.updates == [(1, ""), (1.5, "loss 0.25"), (2, "loss 0.2  val_loss 0.3")]
    progress.close()
    progress.close()
    assert bar.closed == 1


def test_verbose_must_be_0_1_or_2():
    with pytest.raises(ValueError, match=r"expected 0, 1 or 2\. Received: 3"):
        TrainingProgress(total_epochs=1, steps_per_epoch=1, verbose=3)

"""Errors that the CLI reports as bad input (exit code 2, one message, no traceback).

Anything raised as a :class:`GeokerasInputError` is the user's to fix: a malformed spec, an
unknown key, a wrong value, a missing file, a diverging training run. Every other exception
is a bug or an environment failure (exit code 1).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

KeyPath = tuple[Union[str, int], ...]


def shortened(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters (ending in ``...``) so that no message quotes a whole input."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_key_path(path: Sequence[Union[str, int]]) -> str:
    """``("model", "encoder", "widths", 1)`` -> ``model.encoder.widths[1]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


class GeokerasInputError(Exception):
    """Bad input: the message says what was received and what was expected."""


class SpecError(GeokerasInputError):
    """A problem at one key of a spec.

    Args:
        message: what is wrong, naming the received and the expected value.
        path: the key path inside the spec, e.g. ``("model", "encoder", "widths", 1)``.
        location: ``"file:line:column"`` of that key, when known.
    """

    def __init__(self, message: str, path: KeyPath = (), location: Optional[str] = None):
        self.message = message
        self.path = tuple(path)
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        key = f"{format_key_path(self.path)}: " if self.path else ""
        return f"{where}{key}{self.message}"

    def located(self, location: Optional[str]) -> "SpecError":
        """A copy of this error carrying ``location`` (file:line:column)."""
        return SpecError(self.message, self.path, location or self.location)

    def under(self, prefix: Sequence[Union[str, int]]) -> "SpecError":
        """This error with its key path inside ``prefix``: ``("tol",)`` under ``("latent_ot", "solver")``
        is ``latent_ot.solver.tol``. An error that already carries a file location is placed in its
        spec already, and is returned unchanged."""
        if self.location is not None or not prefix:
            return self
        return SpecError(self.message, (*prefix, *self.path))


class SpecErrors(GeokerasInputError):
    """Several spec problems found at once, reported together."""

    def __init__(self, errors: Sequence[SpecError]):
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.errors)
        header = f"{count} problem{'s' if count > 1 else ''} in the spec:\n" if count > 1 else ""
        return header + "\n".join(str(error) for error in self.errors)

    def under(self, prefix: Sequence[Union[str, int]]) -> "SpecErrors":
        """Every error under ``prefix`` (:meth:`SpecError.under`)."""
        return SpecErrors([error.under(prefix) for error in self.errors])


@contextmanager
def located_under(*prefix: Union[str, int]) -> Iterator[None]:
    """Put the SpecError(s) raised inside under the key path ``prefix``.

    Domain code raises errors at key paths relative to its own parameters (``("tol",)``); the
    caller that knows where those parameters sit in a spec says so::

        with located_under("latent_ot", "solver"):
            solve(codes, solver=spec.latent_ot.solver)   # an error at tol -> latent_ot.solver.tol
    """
    try:
        yield
    except (SpecError, SpecErrors) as error:
        if not prefix:
            raise
        raise error.under(prefix) from error.__cause__


class TrainingDivergedError(GeokerasInputError):
    """The loss became NaN or infinite."""

    def __init__(self, epoch: int, loss: float, learning_rate: Optional[float] = None):
        self.epoch = epoch
        self.loss = loss
        rate = f" (learning rate {learning_rate:g})" if learning_rate is not None else ""
        super().__init__(
            f"Training diverged: the loss became {loss} in epoch {epoch}{rate}. Likely causes: "
            f"a learning rate too large for the data (try train.optimizer.learning_rate 10x "
            f"smaller) or data of a large scale (rescale the manifold or add batch_norm)."
        )

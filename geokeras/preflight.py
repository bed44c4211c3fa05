"""The checks of a resolved spec that need no TensorFlow, run before anything is imported or written.

``geokeras validate`` runs them, and so does every run, before TensorFlow is imported: building the
manifold (its parameters checked against each other, data files found), the evaluators against the
manifold (:mod:`geokeras.evaluate.compatibility`) and the ``latent_ot`` section against the model's
latent dimension. Checks inside one section, and between sections that need no built object (the
decoder against the encoder, Keras layer names, the parameter budget), are the spec's own
validators and run when it is loaded. What remains for the run is what needs Keras itself: a
layer's config, shapes through a ``keras_layers`` chain, the devices of ``runtime``.

Numpy only: importing this module, or calling :func:`check_before_running`, imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from geokeras.errors import SpecError, SpecErrors, located_under

if TYPE_CHECKING:
    from geokeras.manifolds import Manifold
    from geokeras.spec import Spec


def check_before_running(spec: Spec) -> Manifold:
    """Build the spec's manifold and check the evaluators and ``latent_ot`` against it.

    Returns:
        The manifold (a run samples its training data from it).

    Raises:
        SpecError / SpecErrors: at the key of the first problem, located in the spec file.
    """
    from geokeras.evaluate.compatibility import check_evaluators
    from geokeras.manifolds import make

    with located_in_spec(spec):
        with located_under("manifold"):
            manifold = make(spec.manifold)
        with located_under("evaluate"):
            check_evaluators(spec.evaluate, manifold)
        if spec.latent_ot is not None:
            _check_latent_ot(spec)
    return manifold


@contextmanager
def located_in_spec(spec: Spec) -> Iterator[None]:
    """Give the SpecError(s) raised inside the spec file's position of their key path.

    Domain code raises errors at key paths relative to its parameters; the calls inside put them
    under the spec section they came from (``located_under("manifold")``), and this adds where
    that key was written.
    """

    def located(error: SpecError) -> SpecError:
        return spec.error(error.message, error.path) if error.location is None and error.path else error

    try:
        yield
    except SpecError as error:
        raise located(error) from None
    except SpecErrors as errors:
        raise SpecErrors([located(error) for error in errors.errors]) from None


def _check_latent_ot(spec: Spec) -> None:
    """The latent_ot section applies to this model: its source exists in the latent dimension and
    its solver accepts the problem."""
    from geokeras.ot.sources import make_source

    section, latent_dim = spec.latent_ot, spec.model.latent_dim
    with located_under("latent_ot", "source"):
        make_source(section.source, latent_dim)
    with located_under("latent_ot", "solver"):
        section.solver.check_applicable(latent_dim, section.source)

"""Bounds on the rectified linear complexity N(N) of a ReLU architecture, in exact integers.

An architecture is given by its widths [n_0, n_1, ..., n_L, n_out]: the input dimension
n_0, the L hidden ReLU layers n_1..n_L and the (linear) output layer n_out. Every bound is a
Python ``int`` (they overflow float64 for real encoders, e.g. ~1.7e225 for
3-768-384-192-96-48-2) and is named after its source. C(n, j) is ``math.comb``; the number
of regions of an arrangement of n hyperplanes in R^d is at most
R(n, d) = sum_{j=0}^{d} C(n, j) (Zaslavsky 1975; Lemma 4.4 of the paper).

``lei2018`` (Lei, Luo, Yau, Gu 2018, Theorem 4.5, exactly as printed, output layer included)
    prod_{i=1}^{L+1} R(w_i, w_{i-1}) = prod_i sum_{j=0}^{w_{i-1}} C(w_i, j) over all
    L + 1 affine layers. Check values: N(2,3,1) = 7 * 2 = 14, N(1,2,1) = 6, N(2,4,4,1) = 352.
``zaslavsky`` (Zaslavsky 1975; one hidden layer only)
    R(n_1, n_0): exact maximum for a single hidden layer (the output layer is linear).
``montufar2017`` (Montúfar, "Notes on the number of linear regions of deep neural
networks", 2017)
    prod_{l=1}^{L} R(n_l, d_l), d_l = min(n_0, n_1, ..., n_l).
``serra2018`` (Serra, Tjandraatmadja, Ramalingam, "Bounding and counting linear regions of
deep neural networks", ICML 2018, Theorem 1)
    sum over (j_1..j_L) in J of prod_l C(n_l, j_l),
    J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}. For n_0 = 1 it
    equals prod_l (n_l + 1) (widths >= 2), which is *not* attained in general: for 1-2-2-1 it
    gives 9, while a 1-2-2-1 network has at most 7 regions (its first layer cuts R into at
    most 3 intervals, on each of which the second layer is one affine function of x, whose 2
    units add at most 2 breakpoints in the whole line after the first 2: 3 + 2 + 2). The
    paper's variant with rank(W_1), ..., rank(W_l) added to the minimum depends on the
    weights: it is in :func:`trained_network_bounds`, never among the architecture's bounds.
    Both are evaluated by dynamic programming over the running minimum d (the dimension
    the next layer can still cut), so the sum over J never enumerates J.
``montufar2014_lower`` (Montúfar, Pascanu, Cho, Bengio, "On the number of linear regions of
deep neural networks", NIPS 2014, Theorem 4 / Corollary 6; a *lower* bound on N(N))
    (prod_{l=1}^{L-1} floor(n_l / n_0)^{n_0}) * R(n_L, n_0), valid when every n_l >= n_0
    (absent otherwise).
``trivial``
    2^(n_1 + ... + n_L): the number of activation patterns.

The hidden layers are widths[1:-1]; with a single entry after n_0 (no hidden layer) the
network is affine and every bound but ``lei2018`` is 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

UPPER_BOUNDS = ("lei2018", "zaslavsky", "montufar2017", "serra2018", "trivial")
"""Names of the upper bounds :func:`rlc_bounds` may return (``zaslavsky`` only for one hidden
layer). Each holds for every weight of the architecture."""
TRAINED_NETWORK_BOUNDS = ("serra2018_rank",)
"""Names of the upper bounds of :func:`trained_network_bounds`: they use the weights' ranks, so
they bound one network's regions, never the architecture's."""
LOWER_BOUNDS = ("montufar2014_lower",)


def arrangement_regions(hyperplanes: int, dimension: int) -> int:
    """R(n, d) = sum_{j=0}^{d} C(n, j): the most regions n hyperplanes cut R^d into."""
    return sum(math.comb(hyperplanes, j) for j in range(min(dimension, hyperplanes) + 1))


def _checked_widths(widths: Sequence[Any]) -> list[int]:
    values = list(widths) if not isinstance(widths, (str, bytes)) else None
    if values is None or len(values) < 2:
        raise ValueError(
            f"Expected widths [n_0, n_1, ..., n_out] with at least 2 entries. Received: widths={widths!r}."
        )
    checked = []
    for index, width in enumerate(values):
        if isinstance(width, bool) or int(width) != width or int(width) < 1:
            raise ValueError(
                f"Expected positive integer widths. Received: widths[{index}]={width!r} in widths={values!r}."
            )
        checked.append(int(width))
    return checked


def lei2018_bound(widths: Sequence[int]) -> int:
    """Theorem 4.5 of Lei et al. 2018 as printed: prod_i sum_{j=0}^{w_{i-1}} C(w_i, j)."""
    w = _checked_widths(widths)
    return math.prod(arrangement_regions(w[i], w[i - 1]) for i in range(1, len(w)))


def montufar2017_bound(widths: Sequence[int]) -> int:
    """prod_{l=1}^{L} R(n_l, min(n_0..n_l)) over the hidden layers (Montúfar 2017)."""
    w = _checked_widths(widths)
    result, dimension = 1, w[0]
    for width in w[1:-1]:
        dimension = min(dimension, width)
        result *= arrangement_regions(width, dimension)
    return result


def serra2018_bound(widths: Sequence[int], ranks: Sequence[int] | None = None) -> int:
    """Serra et al. 2018, Theorem 1 (or its rank variant when ``ranks`` is given).

    Dynamic programming: ``totals[d]`` is the sum, over the choices (j_1..j_l) reaching the
    running bound d = min(n_0, n_1 - j_1, ..., n_l - j_l [, rank(W_1)..rank(W_l)]), of
    prod C(n_i, j_i). Layer l + 1 may choose j <= min(d, n_{l+1} [, rank(W_{l+1})]).

    Args:
        widths: [n_0, n_1, ..., n_L, n_out].
        ranks: rank(W_l) of each hidden layer's weight matrix (length L), optional.
    """
    w = _checked_widths(widths)
    hidden = w[1:-1]
    if ranks is not None:
        ranks = [int(r) for r in ranks]
        if len(ranks) != len(hidden) or any(r < 0 for r in ranks):
            raise ValueError(
                f"Expected one non-negative rank per hidden layer ({len(hidden)}). Received: ranks={ranks!r}."
            )
    totals = {w[0]: 1}
    for index, width in enumerate(hidden):
        cap = width if ranks is None else min(width, ranks[index])
        updated: dict[int, int] = {}
        for dimension, total in totals.items():
            dimension = min(dimension, cap)
            for j in range(dimension + 1):
                reach = min(dimension, width - j)
                updated[reach] = updated.get(reach, 0) + total * math.comb(width, j)
        totals = updated
    return sum(totals.values())


def montufar2014_lower_bound(widths: Sequence[int]) -> int | None:
    """(prod_{l<L} floor(n_l / n_0)^{n_0}) * R(n_L, n_0), or None when some n_l < n_0."""
    w = _checked_widths(widths)
    n0, hidden = w[0], w[1:-1]
    if not hidden or any(width < n0 for width in hidden):
        return None
    return math.prod((width // n0) ** n0 for width in hidden[:-1]) * arrangement_regions(hidden[-1], n0)


def rlc_bounds(widths: Sequence[int]) -> dict[str, int]:
    """Every bound of the module docstring that holds for every weight of the architecture ``widths``.

    Args:
        widths: [n_0, n_1, ..., n_L, n_out] (input, hidden ReLU layers, output).

    Returns:
        ``{"lei2018", "montufar2017", "serra2018", "trivial"}`` always, ``"zaslavsky"``
        with exactly one hidden layer, ``"montufar2014_lower"`` when every hidden width
        >= n_0; exact Python ints.
    """
    w = _checked_widths(widths)
    hidden = w[1:-1]
    bounds: dict[str, int] = {"lei2018": lei2018_bound(w)}
    if len(hidden) == 1:
        bounds["zaslavsky"] = arrangement_regions(hidden[0], w[0])
    bounds["montufar2017"] = montufar2017_bound(w)
    bounds["serra2018"] = serra2018_bound(w)
    bounds["trivial"] = 2 ** sum(hidden)
    lower = montufar2014_lower_bound(w)
    if lower is not None:
        bounds["montufar2014_lower"] = lower
    return bounds


def trained_network_bounds(widths: Sequence[int], ranks: Sequence[int]) -> dict[str, int]:
    """Upper bounds on the regions of one network, from its weights' ranks (not the architecture's).

    ``serra2018_rank``: Serra et al. 2018, Theorem 1 with rank(W_l) added to the running
    minimum. A rank-deficient layer lowers it, so it can be far below every architecture
    bound; it says how many regions *this* network can have, nothing about other weights.

    Args:
        widths: [n_0, n_1, ..., n_L, n_out].
        ranks: rank(W_l) of each hidden layer's weight matrix (length L).
    """
    return {"serra2018_rank": serra2018_bound(_checked_widths(widths), ranks)}


_TIE_BREAK = ("zaslavsky", "serra2018", "montufar2017", "lei2018", "trivial")
"""On equal values the sharper statement is named: the exact one-layer count, then Serra's
bounds (which never exceed Montúfar's), then the rest."""


def tightest_upper_bound(bounds: dict[str, int]) -> tuple[str, int]:
    """``(name, value)`` of the smallest upper bound in ``bounds`` (ties: see _TIE_BREAK)."""
    candidates = [(bounds[name], index, name) for index, name in enumerate(_TIE_BREAK) if name in bounds]
    if not candidates:
        raise ValueError(f"Expected at least one upper bound. Received: keys={sorted(bounds)}.")
    value, _, name = min(candidates)
    return name, value

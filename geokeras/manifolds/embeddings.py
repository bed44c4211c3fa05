"""Embeddings of a manifold's natural space R^k into the ambient space R^D.

Two types, registered in :data:`geokeras.registry.EMBEDDINGS` (parameters in
``params/common.py``):

``isometric``
    y = x F with F (shape=[k, D]) a frame with orthonormal rows, F F^T = I_k, so
    |x F - x' F| = |x - x'| for all points: every distance is preserved. F is the identity
    when D = k; otherwise F = Q^T, Q the Q factor of the QR decomposition of a [D, k]
    standard Gaussian matrix, columns' signs fixed by sign(diag R), which makes F
    Haar-distributed on the Stiefel manifold (Mezzadri, *How to generate random matrices
    from the classical compact groups*, Notices AMS 2007).

``nonlinear``
    the isometric lift followed by the smooth seeded warp

        g(y) = y + s l tanh(y A / l) B,     A shape=[D, K], B shape=[K, D],

    A and B standard Gaussian matrices scaled to spectral norm 1, s = ``strength`` in [0, 1),
    l = ``scale``, K = ``features``. Its differential (row-vector convention) is
    Dg(y) = I + s A diag(sech^2(y A / l)) B, and |Dg(y) - I|_2 <= s |A|_2 |B|_2 = s < 1, so
    (1 - s)|y - y'| <= |g(y) - g(y')| <= (1 + s)|y - y'|: g is injective, its differential is
    invertible everywhere and it is proper, hence a diffeomorphism of R^D (Hadamard's global
    inverse function theorem). The image of a manifold is a manifold of the same dimension
    and topology, now curved in every direction of R^D. s = 0 is exactly the isometric
    lift. The inverse is the fixed point of y <- z - s l tanh(y A / l) B (a contraction with
    factor s).

Seeds: the frame comes from ``SeedSequence([k, D])`` (or ``[seed, k, D]`` with an
``embedding_seed``), so every manifold with the same k and D gets the same frame in every
run; the warp's matrices from the same entropy with a further tag, so the frame of a
nonlinear embedding equals the frame of the isometric one.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.errors import SpecError

_WARP_TAG = 0x6E6C  # "nl": separates the warp's random matrices from the frame's
_CHUNK_ROWS = 1 << 16
"""Rows per chunk of the warp: memory stays O(chunk * (D + K)) however many samples."""


class IsometricEmbedding:
    """x -> x F, F shape=[natural_dim, ambient_dim] with orthonormal rows (module docstring).

    Args:
        params: an ``IsometricEmbeddingParams`` (``embed:`` section).
        natural_dim: k, the dimension of the manifold's natural space.
        seed: the embedding seed (``None``: derived from the dimensions alone).
        manifold_type: names the manifold in error messages.

    Raises:
        SpecError: at ``embed.ambient_dim`` when D < k.
    """

    def __init__(self, params: Any, natural_dim: int, *, seed: Optional[int] = None, manifold_type: str = "manifold"):
        self.params = params
        self.natural_dim = int(natural_dim)
        ambient_dim = self.natural_dim if params.ambient_dim is None else int(params.ambient_dim)
        if ambient_dim < self.natural_dim:
            raise SpecError(
                f"expected an ambient dimension of at least {self.natural_dim} (the dimension "
                f"of the space the {manifold_type} lives in; an embedding cannot lower it). "
                f"Received: ambient_dim={ambient_dim}.",
                ("embed", "ambient_dim"),
            )
        self.ambient_dim = ambient_dim
        self.seed = seed
        self._frame: Optional[np.ndarray] = None

    # ------------------------------------------------------------------ the frame
    def _entropy(self) -> list[int]:
        entropy = [self.natural_dim, self.ambient_dim]
        return entropy if self.seed is None else [int(self.seed), *entropy]

    @property
    def frame(self) -> np.ndarray:
        """F, shape=[natural_dim, ambient_dim], read-only; the identity when D = k."""
        if self._frame is None:
            natural, ambient = self.natural_dim, self.ambient_dim
            if ambient == natural:
                frame = np.eye(natural)
            else:
                rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self._entropy())))
                q, r = np.linalg.qr(rng.standard_normal((ambient, natural)))
                signs = np.where(np.diag(r) < 0.0, -1.0, 1.0)
                frame = (q * signs).T
            frame.setflags(write=False)
            self._frame = frame
        return self._frame

    @property
    def is_identity(self) -> bool:
        """True when points of the natural space are returned unchanged (D = k, no warp)."""
        return self.ambient_dim == self.natural_dim

    # ------------------------------------------------------------------ maps
    def lift(self, natural: np.ndarray) -> np.ndarray:
        """x -> x F for x shape=[n, natural_dim]; returns shape=[n, ambient_dim] (a new array)."""
        natural = _rows(natural, self.natural_dim, "points of the natural space")
        if self.ambient_dim == self.natural_dim:
            return natural.copy()
        return natural @ self.frame

    def apply(self, natural: np.ndarray) -> np.ndarray:
        """The embedding of points shape=[n, natural_dim]; returns shape=[n, ambient_dim]."""
        return self.lift(natural)

    def push_tangents(self, natural: np.ndarray, tangents: np.ndarray) -> np.ndarray:
        """The differential at ``natural`` (shape=[n, k]) applied to ``tangents`` shape=[n, m, k].

        Returns:
            shape=[n, m, ambient_dim]: t -> t F (the isometric lift is linear).
        """
        tangents = np.asarray(tangents, dtype=np.float64)
        if self.ambient_dim == self.natural_dim:
            return tangents.copy()
        return tangents @ self.frame

    def invert(self, points: np.ndarray) -> np.ndarray:
        """y -> y F^T, shape=[n, natural_dim]; for y off the image, the preimage of its projection."""
        points = _rows(points, self.ambient_dim, "points of the ambient space")
        if self.ambient_dim == self.natural_dim:
            return points.copy()
        return points @ self.frame.T


class NonlinearEmbedding(IsometricEmbedding):
    """The isometric lift followed by g(y) = y + s l tanh(y A / l) B (module docstring).

    Args: as :class:`IsometricEmbedding`, with a ``NonlinearEmbeddingParams``.
    """

    _MAX_INVERSE_STEPS = 10_000

    def __init__(self, params: Any, natural_dim: int, *, seed: Optional[int] = None, manifold_type: str = "manifold"):
        super().__init__(params, natural_dim, seed=seed, manifold_type=manifold_type)
        self.strength = float(params.strength)
        self.scale = float(params.scale)
        self.features = int(params.features)
        self._matrices: Optional[tuple[np.ndarray, np.ndarray]] = None

    @property
    def is_identity(self) -> bool:
        return self.strength == 0.0 and self.ambient_dim == self.natural_dim

    @property
    def warp_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(A shape=[D, K], B shape=[K, D]), each of spectral norm 1, read-only."""
        if self._matrices is None:
            entropy = [*self._entropy(), _WARP_TAG, self.features]
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
            a = rng.standard_normal((self.ambient_dim, self.features))
            b = rng.standard_normal((self.features, self.ambient_dim))
            a /= np.linalg.norm(a, 2)
            b /= np.linalg.norm(b, 2)
            a.setflags(write=False)
            b.setflags(write=False)
            self._matrices = (a, b)
        return self._matrices

    def warp(self, lifted: np.ndarray) -> np.ndarray:
        """g(y) = y + s l tanh(y A / l) B for y shape=[n, D], in chunks of rows."""
        lifted = _rows(lifted, self.ambient_dim, "lifted points")
        if self.strength == 0.0:
            return lifted.copy()
        a, b = self.warp_matrices
        out = np.empty_like(lifted)
        for start in range(0, lifted.shape[0], _CHUNK_ROWS):
            y = lifted[start : start + _CHUNK_ROWS]
            out[start : start + _CHUNK_ROWS] = y + (self.strength * self.scale) * (np.tanh((y @ a) / self.scale) @ b)
        return out

    def apply(self, natural: np.ndarray) -> np.ndarray:
        return self.warp(self.lift(natural))

    def push_tangents(self, natural: np.ndarray, tangents: np.ndarray) -> np.ndarray:
        """dg(t F) = t F + s ((t F A) * sech^2(y A / l)) B at y = x F; shape=[n, m, D]."""
        lifted_tangents = super().push_tangents(natural, tangents)
        if self.strength == 0.0:
            return lifted_tangents
        a, b = self.warp_matrices
        y = self.lift(natural)
        sech2 = 1.0 / np.cosh((y @ a) / self.scale) ** 2  # shape=[n, K]
        return lifted_tangents + self.strength * (((lifted_tangents @ a) * sech2[:, None, :]) @ b)

    def unwarp(self, points: np.ndarray) -> np.ndarray:
        """g^{-1}(z) by the fixed-point iteration y <- z - s l tanh(y A / l) B (contraction s).

        Converges to |y - g^{-1}(z)| <= 1e-13 (1 + |z|_inf) in at most
        log(1e-16) / log(s) + a few steps; raises RuntimeError if it does not.
        """
        z = _rows(points, self.ambient_dim, "points of the ambient space")
        if self.strength == 0.0:
            return z.copy()
        a, b = self.warp_matrices
        factor = self.strength * self.scale
        tolerance = 1e-13 * (1.0 + np.max(np.abs(z), axis=1, initial=0.0))
        y = z.copy()
        active = np.arange(z.shape[0])
        for _ in range(self._MAX_INVERSE_STEPS):
            if active.size == 0:
                return y
            current = y[active]
            updated = z[active] - factor * (np.tanh((current @ a) / self.scale) @ b)
            y[active] = updated
            moved = np.max(np.abs(updated - current), axis=1)
            active = active[moved > tolerance[active]]
        raise RuntimeError(
            f"The inverse of the nonlinear embedding did not converge in "
            f"{self._MAX_INVERSE_STEPS} steps (strength={self.strength})."
        )

    def invert(self, points: np.ndarray) -> np.ndarray:
        return super().invert(self.unwarp(points))


def _rows(value: Any, dim: int, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"Expected {what} of shape [n, {dim}]. Received: shape={list(array.shape)}.")
    return array

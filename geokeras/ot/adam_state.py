"""Bias-corrected Adam on one float32 vector, with epsilon added to the bias-corrected sqrt(v).

Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1: for the
t-th gradient g_t,

    m_t = beta_1 m_{t-1} + (1 - beta_1) g_t,        m_hat = m_t / (1 - beta_1^t),
    v_t = beta_2 v_{t-1} + (1 - beta_2) g_t^2,      v_hat = v_t / (1 - beta_2^t),
    theta_t = theta_{t-1} - alpha m_hat / (sqrt(v_hat) + epsilon).

``keras.optimizers.Adam`` computes the same moments as m_t = m_{t-1} + (g_t - m_{t-1})(1 - beta_1)
(equal in exact arithmetic, not always in float32) and the step as
alpha_t m_t / (sqrt(v_t) + epsilon) with alpha_t = alpha sqrt(1 - beta_2^t) / (1 - beta_1^t), that is
epsilon added *before* the bias correction (the paper's section 2 variant with "epsilon hat").
The two agree at step t when Keras' epsilon is epsilon sqrt(1 - beta_2^t); with one epsilon for
every step they differ whenever epsilon is not negligible against sqrt(v_hat). The Monte-Carlo
solver's epsilon is a fixed fraction of the mean target weight, so it keeps Algorithm 1 exactly
(and its iterates bit for bit) rather than Keras' variant.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["AdamState"]


class AdamState(tf.Module):
    """Adam's first and second moments ``m``, ``v`` and its step count ``adam_t`` (``tf.Variable`` s).

    The hyperparameters are plain floats (part of the problem, not of the saved state). A
    subclass adding its own variables keeps all of them side by side in a ``tf.train.Checkpoint``.
    """

    def __init__(self, size: int, beta_1: float, beta_2: float, epsilon: float, name: str = "adam"):
        super().__init__(name=name)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.m = tf.Variable(tf.zeros([size]), name="m")
        self.v = tf.Variable(tf.zeros([size]), name="v")
        self.adam_t = tf.Variable(0, dtype=tf.int64, name="adam_t")

    def adam_delta(self, gradient: Any, step_size: Any) -> Any:
        """Update the moments with ``gradient`` and return alpha m_hat / (sqrt(v_hat) + epsilon).

        ``step_size`` is alpha (a float32 scalar); the caller subtracts the result from theta.
        """
        t = self.adam_t.assign_add(1)
        m = self.m.assign(self.beta_1 * self.m + (1.0 - self.beta_1) * gradient)
        v = self.v.assign(self.beta_2 * self.v + (1.0 - self.beta_2) * tf.square(gradient))
        t_float = tf.cast(t, tf.float32)
        m_hat = m / (1.0 - tf.pow(self.beta_1, t_float))
        v_hat = v / (1.0 - tf.pow(self.beta_2, t_float))
        return step_size * m_hat / (tf.sqrt(v_hat) + self.epsilon)

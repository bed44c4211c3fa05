"""geokeras: the geometric view of deep learning (Lei, Luo, Yau, Gu 2018) from a YAML spec."""

__version__ = "0.1.0"

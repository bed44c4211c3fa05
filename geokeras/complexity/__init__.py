"""Rectified linear complexity of networks and manifolds (Lei et al. 2018, sections 2-4)."""

"""Experiment tracking: a finished run directory or sweep logged to a tracking server (the ``tracking:`` section).

Tracking happens after a run directory is final, from the files in it, so that a tracking server
that is down never costs a run: :func:`geokeras.tracking.track.track_run` prints a warning instead.
"""

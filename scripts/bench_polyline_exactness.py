"""Benchmark: the exact polyline count against the thresholded one of commit 0be8c07.

Question: what does exactness (certifying every float part with a forward error bound, exact
fallback for uncertain segments, exact comparison of maps) cost along a curve? A He-initialised
2-64-64-64-1 network on a 3-turn Archimedean spiral (a = 0.5, b = 0.2) of 10^4 segments; the
old module is loaded from git and timed interleaved with the current one, 7 repeats, median
CPU seconds.

    .venv/bin/python scripts/bench_polyline_exactness.py
"""

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, "scripts")
from bench_complexity_mesh import he_network

from geokeras.complexity.polyline import count_regions_on_polyline as current

src = subprocess.run(
    ["git", "show", "0be8c07:geokeras/complexity/polyline.py"], capture_output=True, text=True, check=True
).stdout
path = Path(tempfile.mkdtemp()) / "old_polyline.py"
path.write_text(src)
spec = importlib.util.spec_from_file_location("old_polyline", path)
old = importlib.util.module_from_spec(spec)
sys.modules["old_polyline"] = old
spec.loader.exec_module(old)
theta = np.linspace(0, 6 * np.pi, 10_001)
r = 0.5 + 0.2 * theta
vertices = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
net = he_network(64, seed=0)
for count in (current, old.count_regions_on_polyline):
    count(net, vertices)
cpu = {"exact": [], "old": []}
for _ in range(7):
    for name, count in (("exact", current), ("old", old.count_regions_on_polyline)):
        t = time.process_time()
        res = count(net, vertices)
        cpu[name].append(time.process_time() - t)
        if name == "exact":
            ex = res
        else:
            ol = res
print(
    f"2-64-64-64-1 on a 3-turn spiral, 10^4 segments: intervals exact {ex.intervals} / old {ol.intervals}, "
    f"exact segments {ex.exact_segments.size}; CPU median exact {statistics.median(cpu['exact']):.3f} s, "
    f"old {statistics.median(cpu['old']):.3f} s, "
    f"ratio {statistics.median(cpu['exact']) / statistics.median(cpu['old']):.2f}"
)

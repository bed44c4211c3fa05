"""runtime.strategy multi_worker, for real: two local worker processes train one spec together.

Two ``geokeras run SPEC -o DIR`` processes get a TF_CONFIG each (one cluster of two workers on
localhost, free ports) and train a circle autoencoder with MultiWorkerMirroredStrategy: every batch
of 32 is split 16/16 over the workers and the gradients are summed across them. The same spec with
one process (``runtime.strategy=auto``) sees the same global batches, so the losses must agree up
to the order of float32 additions: the all-reduce sums two half-batch gradients where one process
sums 32 terms at once. Measured on a 2-core CPU (TensorFlow 2.21, Keras 3.15): the first epoch's
loss is bit for bit the same, the final loss after 3 epochs differs by 7e-8 relative, the
reconstruction mse by 5e-9. The test allows ``rtol=1e-5``: over a hundred times what was measured,
still far below what a wrong split would give (a worker training on its half alone, or the halves
averaged with unequal weights, moves the loss by 1e-4 or more).

Only worker 0, the chief, writes the run directory; worker 1 trains, writes nothing beside it, and
prints one line. Each process is killed after PROCESS_TIMEOUT seconds, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 150
LOSS_RTOL = 1e-5

SPEC = """\
spec_version: 2
name: multi-worker-circle
seed: 3
manifold: {type: circle, samples: 256}
model:
  latent_dim: 1
  encoder: {type: mlp, widths: [16, 16]}
  decoder: {type: mirror}
train: {epochs: 3, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 256}]
report: {figures: false}
runtime: {strategy: multi_worker, deterministic: true}
"""


def free_ports(count: int) -> list[int]:
    """Ports the OS has just handed out (bound to port 0, then released for the workers)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_worker(
    index: int, ports: list[int], spec: Path, out: Path, scratch: Path, **variables: str
) -> subprocess.Popen:
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    env = {
        **os.environ,
        **variables,
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        "TMPDIR": str(scratch),  # where a non-chief's temporary folder goes: checked empty afterwards
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the run silences TensorFlow itself
    command = [sys.executable, "-m", "geokeras.cli", "run", str(spec), "-o", str(out)]
    return subprocess.Popen(
        command, cwd=spec.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """``(returncode, stdout, stderr)`` of each process; all are killed when one overruns its timeout."""
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=PROCESS_TIMEOUT)
            results.append((process.returncode, out, err))
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
            process.communicate()
        pytest.fail(f"a worker ran longer than {PROCESS_TIMEOUT} s: the cluster hung")
    return results


def test_two_workers_train_like_one_process_and_only_the_chief_writes(tmp_path):
    import geokeras
    from geokeras.console import RunConsole

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "run"
    scratch = [tmp_path / "tmp0", tmp_path / "tmp1"]
    for folder in scratch:
        folder.mkdir()
    ports = free_ports(2)
    workers = [start_worker(index, ports, spec, out, scratch[index]) for index in range(2)]
    try:  # the reference run, in this process, while the workers start
        single = geokeras.run(
            spec, tmp_path / "single", ["runtime.strategy=auto"], console=RunConsole(quiet=True)
        ).metrics
    finally:
        (chief_code, chief_out, chief_err), (worker_code, worker_out, worker_err) = finish(workers)

    assert chief_code == 0, chief_err
    assert worker_code == 0, worker_err
    assert chief_out.startswith(f"geokeras: wrote {out} (final loss ")
    assert "training         3 epochs" in chief_err and "(worker 0 of 2, the chief)" in chief_err
    assert worker_out.startswith("geokeras: trained as a worker (final loss ") and worker_out.count("\n") == 1
    assert worker_out.endswith(f"the chief writes {out}\n")
    assert worker_err == ""  # a worker's console is quiet, TensorFlow's start-up noise included

    # One run directory, complete, from the chief; the worker's temporary folder is gone.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run", "single", "spec.yaml", "tmp0", "tmp1"]
    assert list(scratch[1].iterdir()) == []
    assert {"metrics.json", "history.json", "report.md", "provenance.json", "models"} <= {
        path.name for path in out.iterdir()
    }
    assert not (out / "checkpoints").exists()
    devices = json.loads((out / "provenance.json").read_text(encoding="utf-8"))["devices"]
    assert [device.split("/device:")[0] for device in devices] == [
        "CPU: /job:worker/replica:0/task:0",
        "CPU: /job:worker/replica:0/task:1",
    ]

    # The same training as one process, up to float32 summation order.
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    history = json.loads((out / "history.json").read_text(encoding="utf-8"))
    single_history = json.loads((tmp_path / "single" / "history.json").read_text(encoding="utf-8"))
    assert metrics["training"]["epochs"] == single["training"]["epochs"] == 3
    assert history["loss"] == pytest.approx(single_history["loss"], rel=LOSS_RTOL)
    assert metrics["training"]["final_loss"] == pytest.approx(single["training"]["final_loss"], rel=LOSS_RTOL)
    assert metrics["reconstruction"]["mse"] == pytest.approx(single["reconstruction"]["mse"], rel=LOSS_RTOL)
    # ... and not the same as no training at all: the loss fell.
    assert history["loss"][-1] < history["loss"][0] * 0.95


def test_resume_of_a_multi_worker_run_is_refused_before_anything(tmp_path, monkeypatch, capsys):
    from geokeras.cli import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    for index in range(2):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        assert main(["run", str(spec), "-o", str(tmp_path / "run"), "--resume"]) == 2
        assert "expected a run of one process for --resume" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spec.yaml"]


def test_a_task_whose_peers_never_connect_stops_after_the_cluster_timeout(tmp_path):
    """Worker 1 alone (its chief never starts): TensorFlow would wait an hour, deaf to Ctrl-C."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    worker = start_worker(1, free_ports(2), spec, tmp_path / "run", tmp_path, GEOKERAS_CLUSTER_TIMEOUT="2")
    [(code, out, err)] = finish([worker])
    assert code == 1 and out == ""
    assert err.startswith("Timeout (0:00:02)!") and "_multi_worker_strategy" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize("text, seconds", [("", 300.0), ("2.5", 2.5)])
def test_cluster_timeout_reads_its_variable(text, seconds):
    from geokeras.models.runtime import cluster_timeout

    assert cluster_timeout({"GEOKERAS_CLUSTER_TIMEOUT": text}) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf", "nan"])
def test_cluster_timeout_refuses_what_is_not_a_positive_number(text):
    from geokeras.errors import GeokerasInputError
    from geokeras.models.runtime import cluster_timeout

    with pytest.raises(GeokerasInputError, match="expected GEOKERAS_CLUSTER_TIMEOUT to be a number of seconds > 0"):
        cluster_timeout({"GEOKERAS_CLUSTER_TIMEOUT": text})


@pytest.mark.parametrize(
    "samples, batch_size, replicas, even",
    [(256, 32, 2, True), (250, 32, 2, True), (256, 32, 1, True), (192, 25, 2, False), (255, 32, 2, False)],
)
def test_uneven_batches_are_named(samples, batch_size, replicas, even):
    from geokeras.models.training import uneven_batches

    message = uneven_batches(samples, batch_size, replicas)
    assert (message is None) is even
    if not even:
        assert f"train.batch_size {batch_size} over {samples} training samples" in message

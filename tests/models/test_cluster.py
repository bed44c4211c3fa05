"""The task TF_CONFIG describes: who trains, who is the chief, and which configurations are refused."""

from __future__ import annotations

import json

import pytest

from geokeras.errors import GeokerasInputError
from geokeras.models.cluster import ClusterTask, cluster_task


def tf_config(cluster: dict, task_type: str, index: int) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


TWO_WORKERS = {"worker": ["localhost:1111", "localhost:2222"]}


def test_without_tf_config_or_with_one_task_a_run_is_one_process():
    assert cluster_task({}) is None
    assert cluster_task({"TF_CONFIG": "  "}) is None
    assert cluster_task(tf_config({"worker": ["localhost:1111"]}, "worker", 0)) is None


@pytest.mark.parametrize(
    "cluster, task_type, index, chief, described",
    [
        (TWO_WORKERS, "worker", 0, True, "worker 0 of 2"),
        (TWO_WORKERS, "worker", 1, False, "worker 1 of 2"),
        ({"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "chief", 0, True, "chief of 3"),
        ({"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "worker", 0, False, "worker 0 of 3"),
    ],
)
def test_the_chief_is_the_chief_task_or_else_worker_0(cluster, task_type, index, chief, described):
    task = cluster_task(tf_config(cluster, task_type, index))
    assert task == ClusterTask(task_type, index, tasks=len(sum(cluster.values(), [])), has_chief_job="chief" in cluster)
    assert task.is_chief is chief
    assert task.describe() == described


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "expected TF_CONFIG to be JSON"),
        (json.dumps({"cluster": TWO_WORKERS}), "a 'task' mapping"),
        (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "evaluator", "index": 0}}), "type='evaluator'"),
        (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 2}}), "index=2"),
        (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": True}}), "index=True"),
    ],
)
def test_a_malformed_tf_config_is_bad_input(text, fragment):
    with pytest.raises(GeokerasInputError) as caught:
        cluster_task({"TF_CONFIG": text})
    assert fragment in str(caught.value)

"""`rl submit` planning: per-node accelerate wiring, vLLM server placement, and requests refused before submission."""

import subprocess
import sys
from pathlib import Path

import pytest

from rl.config import load_config
from rl.errors import LaunchError
from rl.train.launch import MAIN_HOST, VLLM_HOST, LaunchRequest, minutes, plan_launch

ROOT = Path(__file__).resolve().parents[3]
GPU_PRESET = ROOT / "configs" / "r1_zero.yaml"


def plan_for(overrides=(), **request):
    config = load_config(GPU_PRESET, list(overrides))
    return plan_launch(config, str(GPU_PRESET), list(overrides), LaunchRequest(**request))


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_two_nodes_by_eight_gpus_wire_ranks_and_the_main_address():
    plan = plan_for(nodes=2, gpus_per_node=8, accelerate="zero3")
    assert plan.train_processes == 16
    for rank, node in enumerate(plan.nodes):
        argv = node.train
        assert argv[:2] == ["accelerate", "launch"]
        assert option(argv, "--config_file").endswith("launch/accelerate/zero3.yaml")
        assert option(argv, "--num_machines") == "2"
        assert option(argv, "--machine_rank") == str(rank)
        assert option(argv, "--num_processes") == "16"
        assert option(argv, "--main_process_ip") == MAIN_HOST
        assert argv[-1] == "--resume" and "rl" in argv and "train" in argv
        assert node.vllm is None


def test_vllm_server_mode_on_two_nodes_gives_the_last_node_to_vllm():
    plan = plan_for(["trainer.vllm_mode=server"], nodes=2, gpus_per_node=8)
    trainer_node, vllm_node = plan.nodes
    assert plan.train_processes == 8
    assert option(trainer_node.train, "--num_machines") == "1"
    assert option(trainer_node.train, "--num_processes") == "8"
    assert f"trainer.vllm_server_host={VLLM_HOST}" in trainer_node.train
    assert vllm_node.train is None
    assert vllm_node.vllm[:2] == ["trl", "vllm-serve"]
    assert option(vllm_node.vllm, "--data_parallel_size") == "8"
    text = plan.describe()
    assert "node 1:\n  vllm : trl vllm-serve --model Qwen/Qwen2.5-Math-1.5B" in text


def test_vllm_server_mode_on_one_node_splits_its_gpus():
    plan = plan_for(["trainer.vllm_mode=server"], nodes=1, gpus_per_node=4, vllm_gpus=2)
    (node,) = plan.nodes
    assert node.env["CUDA_VISIBLE_DEVICES"] == "0,1" and node.env["VLLM_CUDA_VISIBLE_DEVICES"] == "2,3"
    assert option(node.train, "--num_processes") == "2"


@pytest.mark.parametrize(
    ("overrides", "request_fields", "message"),
    [
        ((), {"gpus_per_node": 0}, "--gpus-per-node must be >= 1"),
        ((), {"nodes": 0}, "--nodes must be >= 1"),
        ((), {"accelerate": "zero4"}, "accelerate config not found"),
        ((), {"accelerate": "/no/such/file.yaml"}, "accelerate config not found"),
        (["trainer.num_generations=16", "trainer.per_device_train_batch_size=4", "trainer.gradient_accumulation_steps=1"],
         {"gpus_per_node": 2}, "not divisible into groups of num_generations=16"),
        (["trainer.vllm_mode=server"], {"gpus_per_node": 2, "vllm_gpus": 2}, "--vllm-gpus < --gpus-per-node"),
        ((), {"time": "soon"}, "--time 'soon'"),
        ((), {"cluster": "local", "nodes": 2}, "--cluster local runs on this machine"),
    ],
)
def test_bad_requests_fail_before_submission(overrides, request_fields, message):
    with pytest.raises(LaunchError, match=None) as error:
        plan_for(overrides, **request_fields)
    assert message in str(error.value)


def test_time_limits():
    assert minutes("90") == 90 and minutes("02:30:00") == 150 and minutes("1-00:00:00") == 1440 and minutes("10:30") == 630


def test_dry_run_cli_prints_every_node_and_bad_requests_exit_2():
    base = [sys.executable, "-m", "rl", "submit", "--config", str(GPU_PRESET)]
    ok = subprocess.run([*base, "--nodes", "2", "--gpus-per-node", "8", "--dry-run"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "node 0:" in ok.stdout and "node 1:" in ok.stdout and "--machine_rank 1" in ok.stdout
    bad = subprocess.run([*base, "--gpus-per-node", "0", "--dry-run"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "error: --gpus-per-node" in bad.stderr and "Traceback" not in bad.stderr

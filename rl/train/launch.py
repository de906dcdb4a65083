"""Cluster launch: turn (config, nodes x GPUs) into one `accelerate launch` per node, submitted with submitit.

accelerate/DeepSpeed do the distributed work and submitit the SLURM work; this module only wires
them: per-node machine rank, the main node's address, the process count, and, for vLLM server
mode, which GPUs run `trl vllm-serve` and where the trainer finds it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rl.config import RunConfig
from rl.config.presets import accelerate_file
from rl.config.trainer_args import batch_geometry, trainer_value
from rl.errors import LaunchError

ROOT = Path(__file__).resolve().parents[1]
MAIN_HOST, VLLM_HOST = "{main_host}", "{vllm_host}"  # filled in on the nodes, from the SLURM allocation
VLLM_PORT = 8000


@dataclass
class LaunchRequest:
    """What the user asked `rl submit` for."""

    nodes: int = 1
    gpus_per_node: int = 8
    cluster: str = "slurm"  # slurm | local (submitit's local executor: tests, a single machine)
    accelerate: str = "zero2"  # ddp | zero2 | zero3 | a path to an accelerate config file
    partition: str | None = None
    time: str = "24:00:00"  # HH:MM:SS or minutes
    cpus_per_gpu: int = 8
    vllm_gpus: int | None = None  # server mode: GPUs for `trl vllm-serve` (default: 1 on one node, a whole node on many)
    port: int = 29500
    account: str | None = None
    qos: str | None = None


@dataclass
class NodeCommand:
    """What one node runs: the trainer (accelerate launch), vLLM's server, or both (vLLM in the background)."""

    node: int
    train: list[str] | None = None
    vllm: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"node {self.node}:"]
        if self.vllm:
            gpus = self.env.get("VLLM_CUDA_VISIBLE_DEVICES")
            lines.append(f"  vllm : {'CUDA_VISIBLE_DEVICES=' + gpus + ' ' if gpus else ''}{shlex.join(self.vllm)}")
        if self.train:
            gpus = self.env.get("CUDA_VISIBLE_DEVICES")
            lines.append(f"  train: {'CUDA_VISIBLE_DEVICES=' + gpus + ' ' if gpus else ''}{shlex.join(self.train)}")
        return "\n".join(lines)


@dataclass
class LaunchPlan:
    request: LaunchRequest
    run_dir: Path
    nodes: list[NodeCommand]
    train_processes: int
    vllm_mode: str | None  # None, colocate or server
    workdir: Path = field(default_factory=Path.cwd)  # where relative paths (config, output_dir) are read from

    def describe(self) -> str:
        head = (
            f"# {self.request.nodes} node(s) x {self.request.gpus_per_node} GPU(s) on {self.request.cluster}; "
            f"{self.train_processes} training process(es); vLLM: {self.vllm_mode or 'off'}; run dir {self.run_dir}\n"
            f"# {MAIN_HOST} = first host of the allocation, {VLLM_HOST} = host of the vLLM node (filled in at run time)"
        )
        return "\n".join([head, *(node.describe() for node in self.nodes)])


def minutes(time: str) -> int:
    """SLURM-style `HH:MM:SS`, `MM` or `D-HH:MM:SS` as whole minutes."""
    days, _, clock = time.rpartition("-")
    try:
        parts = [int(p) for p in clock.split(":")] if clock else []
        days_count = int(days or 0)
    except ValueError:
        parts, days_count = [], 0
    if not parts or len(parts) > 3 or any(p < 0 for p in parts):
        raise LaunchError(f"--time {time!r}: use HH:MM:SS, D-HH:MM:SS or minutes")
    if len(parts) == 1:
        total = parts[0]
    else:
        hours, mins, secs = ([0] * (3 - len(parts)) + parts) if len(parts) == 3 else (parts[0], parts[1], 0)
        total = hours * 60 + mins + (1 if secs else 0)
    return total + days_count * 24 * 60


def check_batch_geometry(config: RunConfig, train_processes: int) -> None:
    """Whole prompt groups in each generation batch, with the config's algorithm's TRL defaults: fail before queueing."""
    problem = batch_geometry(config.algorithm, config.trainer, train_processes).problem()
    if problem:
        raise LaunchError(problem)


def plan_launch(config: RunConfig, config_path: str, overrides: list[str], request: LaunchRequest) -> LaunchPlan:
    """Per-node commands for `config` on the requested allocation; raises `LaunchError` on a request that cannot work."""
    if request.nodes < 1:
        raise LaunchError(f"--nodes must be >= 1, got {request.nodes}")
    if request.cluster not in ("slurm", "local"):
        raise LaunchError(f"--cluster {request.cluster!r}: use slurm or local")
    if request.cluster == "slurm" and request.gpus_per_node < 1:
        raise LaunchError(f"--gpus-per-node must be >= 1 on SLURM, got {request.gpus_per_node} (GRPO training needs GPUs)")
    if request.cluster == "local" and (request.nodes != 1 or request.gpus_per_node < 0):
        raise LaunchError("--cluster local runs on this machine: use --nodes 1 and --gpus-per-node >= 0 (0 = one CPU process)")
    minutes(request.time)
    use_vllm = trainer_value(config.algorithm, config.trainer, "use_vllm")
    vllm_mode = trainer_value(config.algorithm, config.trainer, "vllm_mode") if use_vllm else None  # TRL's default mode
    run_dir = config.output_dir.resolve()
    train_cmd = ["-m", "rl", "train", "--config", str(Path(config_path).resolve()), *[a for o in overrides for a in ("--set", o)], "--resume"]

    if request.gpus_per_node == 0:  # local CPU run: one plain process, no accelerate
        check_batch_geometry(config, 1)
        return LaunchPlan(request, run_dir, [NodeCommand(0, train=[sys.executable, *train_cmd])], 1, vllm_mode)

    config_file = accelerate_file(request.accelerate)
    gpus = request.gpus_per_node
    train_nodes, vllm_node, vllm_gpus = request.nodes, None, 0
    if vllm_mode == "server":
        if request.nodes == 1:
            vllm_gpus = request.vllm_gpus or 1
            if vllm_gpus >= gpus:
                raise LaunchError(f"vLLM server mode on one node needs --vllm-gpus < --gpus-per-node ({vllm_gpus} >= {gpus})")
            vllm_node = 0
        else:
            vllm_gpus = request.vllm_gpus or gpus
            if vllm_gpus != gpus:
                raise LaunchError(f"on several nodes vLLM gets a whole node: --vllm-gpus must be {gpus} (or unset)")
            vllm_node, train_nodes = request.nodes - 1, request.nodes - 1
    train_gpus_per_node = gpus - vllm_gpus if request.nodes == 1 else gpus
    train_processes = train_nodes * train_gpus_per_node
    check_batch_geometry(config, train_processes)

    vllm_overrides = []
    if vllm_mode == "server":
        vllm_overrides = ["--set", f"trainer.vllm_server_host={VLLM_HOST}", "--set", f"trainer.vllm_server_port={VLLM_PORT}"]
    nodes = []
    for node in range(request.nodes):
        command = NodeCommand(node)
        if node < train_nodes:
            command.train = [
                "accelerate", "launch", "--config_file", str(config_file),
                "--num_machines", str(train_nodes), "--machine_rank", str(node), "--num_processes", str(train_processes),
                "--main_process_ip", MAIN_HOST, "--main_process_port", str(request.port),
                *train_cmd[:-1], *vllm_overrides, "--resume",
            ]  # fmt: skip
        if node == vllm_node:
            command.vllm = [
                "trl", "vllm-serve", "--model", config.model.name_or_path, "--tensor_parallel_size", "1",
                "--data_parallel_size", str(vllm_gpus), "--port", str(VLLM_PORT),
            ]  # fmt: skip
            if request.nodes == 1:
                command.env["VLLM_CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in range(gpus - vllm_gpus, gpus))
                command.env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in range(gpus - vllm_gpus))
        nodes.append(command)
    return LaunchPlan(request, run_dir, nodes, train_processes, vllm_mode)


class NodeTask:
    """The job submitit runs once per node: fills in host names, starts vLLM if this node serves it, then trains.

    Picklable, and `checkpoint()` asks submitit to requeue it on timeout or preemption; the train
    command carries `--resume`, so the requeued job continues from the last checkpoint.
    """

    def __init__(self, plan: LaunchPlan) -> None:
        self.plan = plan

    def __call__(self) -> int:
        import submitit

        environment = submitit.JobEnvironment()
        hosts = list(environment.hostnames) or ["127.0.0.1"]
        node = self.plan.nodes[environment.global_rank]  # one task per node: the task rank is the node rank
        values = {MAIN_HOST: hosts[0], VLLM_HOST: hosts[-1] if len(hosts) > 1 else "127.0.0.1"}

        def fill(argv: list[str]) -> list[str]:
            filled = []
            for arg in argv:
                for placeholder, value in values.items():
                    arg = arg.replace(placeholder, value)
                filled.append(arg)
            return filled

        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        server = None
        if node.vllm:
            vllm_env = dict(env)
            if "VLLM_CUDA_VISIBLE_DEVICES" in node.env:
                vllm_env["CUDA_VISIBLE_DEVICES"] = node.env["VLLM_CUDA_VISIBLE_DEVICES"]
            server = subprocess.Popen(fill(node.vllm), env=vllm_env, cwd=self.plan.workdir)
        finished = self.plan.run_dir / "submit" / f"finished-{environment.job_id}"
        try:
            if node.train is None:  # a vLLM-only node serves until the trainers say they are done
                while server is not None and server.poll() is None and not finished.exists():
                    time.sleep(30)
                return 0
            if "CUDA_VISIBLE_DEVICES" in node.env:
                env["CUDA_VISIBLE_DEVICES"] = node.env["CUDA_VISIBLE_DEVICES"]
            subprocess.run(fill(node.train), env=env, cwd=self.plan.workdir, check=True)
            if node.node == 0:
                finished.parent.mkdir(parents=True, exist_ok=True)
                finished.touch()
            return 0
        finally:
            if server is not None:
                server.terminate()

    def checkpoint(self, *args, **kwargs):
        import submitit

        return submitit.helpers.DelayedSubmission(NodeTask(self.plan))


def submit(plan: LaunchPlan, name: str = "lengthrl"):
    """Queue the plan with submitit; logs go to `<run_dir>/submit/`, the job id to `<run_dir>/submit.json`."""
    try:
        import submitit
    except ImportError:
        raise LaunchError('rl submit needs submitit: pip install "lengthrl[slurm]" (in a checkout: pip install -e ".[slurm]")') from None

    request = plan.request
    log_dir = plan.run_dir / "submit"
    executor = submitit.AutoExecutor(folder=str(log_dir / "%j"), cluster=request.cluster)
    parameters = {"timeout_min": minutes(request.time), "name": name}
    if request.cluster == "slurm":
        additional = {key: value for key, value in (("account", request.account), ("qos", request.qos)) if value}
        parameters.update(
            nodes=request.nodes, tasks_per_node=1, gpus_per_node=request.gpus_per_node,
            cpus_per_task=request.cpus_per_gpu * request.gpus_per_node, slurm_partition=request.partition,
            slurm_additional_parameters=additional,
        )  # fmt: skip
    else:
        parameters.update(nodes=1, tasks_per_node=1, gpus_per_node=request.gpus_per_node)
    executor.update_parameters(**{k: v for k, v in parameters.items() if v is not None})
    job = executor.submit(NodeTask(plan))
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    record = {"job_id": job.job_id, "cluster": request.cluster, "logs": str(log_dir / str(job.job_id)),
              "request": asdict(request), "plan": plan.describe()}  # fmt: skip
    (plan.run_dir / "submit.json").write_text(json.dumps(record, indent=2))
    return job

"""Submit a training run to SLURM (or run it through submitit's local executor), one accelerate launch per node."""

from __future__ import annotations

import argparse

from rl.commands.train import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=8, help="0 with --cluster local: one CPU process")
    parser.add_argument("--partition", default=None, help="SLURM partition")
    parser.add_argument("--time", default="24:00:00", help="time limit, HH:MM:SS or minutes (the job requeues and resumes)")
    parser.add_argument("--accelerate", default="zero2", help="ddp | zero2 | zero3 (launch/accelerate/) or a config file path")
    parser.add_argument("--cluster", default="slurm", choices=["slurm", "local"])
    parser.add_argument("--vllm-gpus", type=int, default=None, help="vLLM server mode: GPUs for trl vllm-serve")
    parser.add_argument("--cpus-per-gpu", type=int, default=8)
    parser.add_argument("--port", type=int, default=29500, help="main process port of the training nodes")
    parser.add_argument("--account", default=None)
    parser.add_argument("--qos", default=None)
    parser.add_argument("--dry-run", action="store_true", help="print what each node would run, submit nothing")
    parser.add_argument("--wait", action="store_true", help="wait for the job to finish (default for --cluster local)")


def run(args: argparse.Namespace) -> int:
    from rl.config import load_config
    from rl.train.launch import LaunchRequest, plan_launch, submit

    config = load_config(args.config, args.overrides)
    request = LaunchRequest(
        nodes=args.nodes, gpus_per_node=args.gpus_per_node, cluster=args.cluster, accelerate=args.accelerate,
        partition=args.partition, time=args.time, cpus_per_gpu=args.cpus_per_gpu, vllm_gpus=args.vllm_gpus,
        port=args.port, account=args.account, qos=args.qos,
    )  # fmt: skip
    plan = plan_launch(config, args.config, args.overrides, request)
    print(plan.describe())
    if args.dry_run:
        return 0
    job = submit(plan)
    print(f"submitted job {job.job_id}; logs in {plan.run_dir / 'submit' / str(job.job_id)}")
    if args.wait or args.cluster == "local":
        job.result()
        print(f"job {job.job_id} finished: {plan.run_dir}")
    return 0

"""A normal (non-editable) install works from outside the checkout: presets found by name, caches in the user's cache dir."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this checkout, installed (without dependencies: the venv has them) into a target dir."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist")],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((work / "dist").glob("lengthrl-*.whl"))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(work / "site"), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return work


def rl(installed: Path, *args: str) -> subprocess.CompletedProcess:
    elsewhere = installed / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(installed / "site"), "XDG_CACHE_HOME": str(installed / "xdg-cache")}
    env.pop("LENGTHRL_CACHE", None)
    return subprocess.run([sys.executable, "-m", "rl", *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=480)


def test_the_wheel_carries_the_presets_and_runs_from_elsewhere(installed):
    where = rl(installed, "--help")
    assert where.returncode == 0 and "quick start" in where.stdout

    probe = subprocess.run(
        [sys.executable, "-c", "import rl; print(rl.__file__)"], capture_output=True, text=True, cwd=installed,
        env={**os.environ, "PYTHONPATH": str(installed / "site")},
    )  # fmt: skip
    assert probe.stdout.strip().startswith(str(installed / "site")), "the test must exercise the installed copy"

    dry = rl(installed, "submit", "--config", "r1_zero", "--accelerate", "zero2", "--nodes", "1", "--gpus-per-node", "8", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "zero2.yaml" in dry.stdout

    run = installed / "elsewhere" / "runs" / "smoke"
    train = rl(installed, "train", "--config", "demo/smoke", "--set", f"trainer.output_dir={run}", "--set", "trainer.max_steps=1")
    assert train.returncode == 0, train.stderr[-3000:]
    assert (run / "finished.json").is_file()
    assert list((installed / "xdg-cache" / "lengthrl").glob("tiny-test-*")), "tiny models are built in the user cache dir"
    assert not (installed / "elsewhere" / ".cache").exists()

    demo = rl(installed, "demo", "--toy", "--out", str(installed / "elsewhere" / "demo"))
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (installed / "elsewhere" / "demo" / "report.md").is_file()

    missing = rl(installed, "train", "--config", "r1_zeroo")
    assert missing.returncode == 2 and "did you mean 'r1_zero'" in missing.stderr

"""`rl.demo.suites`: every suite declared once; the CLI, the Makefile and the docs follow the registry."""

import json
import re
from pathlib import Path

import pytest

from rl.demo.suites import SUITES, Suite, register_suite

ROOT = Path(__file__).resolve().parents[3]


def test_the_makefile_has_a_target_for_every_suite():
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split()
    for name, suite in SUITES.items():
        recipe = re.search(rf"^{re.escape(suite.target)}: .*\n\t(.*)$", makefile, re.MULTILINE)
        assert recipe, f"Makefile: no target {suite.target} for suite {name}"
        command = recipe.group(1).strip()
        assert command == f"$(PY) -m rl demo --suite {name}" or (name == "demo" and command == "$(PY) -m rl demo"), command
        assert suite.target in phony


def test_every_suite_has_its_docs_page_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for suite in SUITES.values():
        assert (ROOT / suite.doc).is_file(), suite.doc
        assert suite.doc in readme, f"README.md does not link {suite.doc}"


def write_tiny_report(args, settings) -> int:
    """A suite of this test module: one stage, its report."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    (settings.out_dir / "report.json").write_text(json.dumps({"seed": args.seed, "toy": args.toy}))
    return 0


@pytest.fixture
def tiny_suite():
    # A new suite is its runner and one line:
    register_suite(Suite("tiny", "a suite declared in a test", write_tiny_report))
    yield "tiny"
    del SUITES["tiny"]


def test_a_suite_declared_in_a_test_module_runs_from_the_cli(tiny_suite, tmp_path):
    from rl.cli import main

    assert main(["demo", "--suite", tiny_suite, "--out", str(tmp_path / "tiny"), "--toy", "--seed", "3"]) == 0
    assert json.loads((tmp_path / "tiny" / "report.json").read_text()) == {"seed": 3, "toy": True}


def test_a_suite_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register_suite(Suite("demo", "another demo", write_tiny_report))

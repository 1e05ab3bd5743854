"""Every script in ``benchmarks/`` and ``tools/`` still imports: a renamed module or name breaks it here."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(
    p.relative_to(ROOT).as_posix() for d in ("benchmarks", "tools") for p in (ROOT / d).glob("*.py")
)


def test_the_scripts_are_found():
    assert "benchmarks/bench_norms.py" in SCRIPTS and "benchmarks/bench_core.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_imports_and_has_a_main(script, load_script):
    module = load_script(script)
    assert callable(getattr(module, "main", None)), f"{script} has no main()"

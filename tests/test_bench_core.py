"""The core benchmark runs end to end on a tiny net (its figures are for README, not tests)."""

import pytest


@pytest.fixture
def bench(load_script, monkeypatch):
    module = load_script("benchmarks/bench_core.py")
    monkeypatch.setattr(module, "REPEATS", 1)
    monkeypatch.setattr(module, "STEPS", 2)
    return module


def test_every_case_is_timed_and_the_ratios_are_positive(bench):
    result = bench.measure(3, 8, 16)
    assert set(result["median_ms"]) == {
        "bare_step",
        "gradient_profile",
        "gradient_profile_general_tracer",
        "floor",
        "bare_train_step",
        "train_step_record_every_1",
    }
    assert all(v > 0 for v in result["median_ms"].values())
    assert all(r > 0 for r in (*result["ratio"].values(), *result["ratio_of_fastest"].values()))
    assert "gradient_profile" in result["breakdown_ms"]


def test_main_fails_when_a_ratio_is_over_the_guard(bench, monkeypatch, capsys):
    ratio = {"gradient_profile_vs_bare_step": bench.GUARD + 0.01, "train_record_every_1_vs_bare_train": 1.0}

    def over(depth, width, batch):
        return {"ratio": ratio}

    monkeypatch.setattr(bench, "measure", over)
    with pytest.raises(SystemExit, match="over the guard"):
        bench.main()
    monkeypatch.setattr(bench, "GUARD", bench.GUARD + 0.02)
    bench.main()  # within the guard: returns
    assert '"worst_ratio"' in capsys.readouterr().out

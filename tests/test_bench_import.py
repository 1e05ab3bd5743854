"""The import benchmark runs end to end (its figures are for README, not tests)."""


def test_every_case_is_timed_and_the_ratios_are_positive(load_script):
    bench = load_script("benchmarks/bench_import.py")
    result = bench.measure(repeats=1)
    assert set(result["median_ms"]) == {"python", "torch", "gradwidgets", "gradwidgets.plots"}
    assert all(v > 0 for v in result["median_ms"].values())
    assert result["ratio_gradwidgets_to_torch"] > 0 and result["ratio_plots_to_torch"] > 0

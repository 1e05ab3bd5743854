"""gw.diagnose against a labelled zoo of models (tests/diagnose_zoo.py), each label measured
independently of gradwidgets; target: precision and recall >= 0.95 per flag and overall."""

from collections import Counter

import pytest
from diagnose_zoo import BY_NAME, CASES, FAMILIES, FLAGS, diagnose_flags, false_alarms, misses, score

from gradwidgets.core.thresholds import FLAGS as GW_FLAGS

TARGET = 0.95
NAMES = [c.name for c in CASES]


@pytest.fixture(scope="module")
def diagnosed():
    """diagnose's flags per case, computed once per case for the whole module (an exception
    raised by diagnose is kept and re-raised by each test that asks for that case)."""
    cache: dict[str, frozenset[str] | Exception] = {}

    def get(name: str) -> frozenset[str]:
        if name not in cache:
            try:
                cache[name] = diagnose_flags(BY_NAME[name])
            except Exception as err:
                cache[name] = err
        result = cache[name]
        if isinstance(result, Exception):
            raise result
        return result

    return get


@pytest.mark.parametrize("name", NAMES)
def test_the_labels_are_what_an_independent_measurement_finds(name):
    case = BY_NAME[name]
    m = case.verify()
    wrong = m.disagreements(case.labels, case.unscored)
    assert not wrong, f"{name}: labels {sorted(case.labels)}, but the measurement says {m}"


def test_the_zoo_covers_the_families_flags_and_healthy_cases():
    assert len(CASES) >= 40
    assert len(set(NAMES)) == len(NAMES)
    assert FLAGS == GW_FLAGS
    assert {c.family for c in CASES} == set(FAMILIES)
    assert sum(not c.labels for c in CASES) >= 0.3 * len(CASES)
    per_flag = Counter(f for c in CASES for f in c.labels)
    assert all(per_flag[f] >= 3 for f in FLAGS), per_flag
    for c in CASES:
        assert c.labels <= set(FLAGS) and c.unscored <= set(FLAGS) and not c.labels & c.unscored, c.name
        assert c.twin in BY_NAME and c.twin != c.name and c.knob, c.name
        if c.labels:  # every sick case has a healthy twin
            assert not BY_NAME[c.twin].labels, f"{c.name}'s twin {c.twin} is not healthy"


@pytest.mark.parametrize("name", NAMES)
def test_diagnose_raises_exactly_the_labels(name, diagnosed):
    case = BY_NAME[name]
    raised = diagnosed(name)
    missed, extra = misses(case, raised), false_alarms(case, raised)
    assert not missed and not extra, (
        f"{name}: labels {sorted(case.labels)}, diagnose raised {sorted(raised)} "
        f"(missed {sorted(missed)}, false alarms {sorted(extra)})"
    )


@pytest.mark.slow
def test_diagnose_scores_the_target_precision_and_recall(diagnosed):
    raised, errors = {}, {}
    for name in NAMES:
        try:
            raised[name] = diagnosed(name)
        except Exception as err:
            raised[name], errors[name] = frozenset(), repr(err)
    tallies = score(raised)
    low = {
        flag: f"precision {t.precision:.2f}, recall {t.recall:.2f}"
        for flag, t in tallies.items()
        if t.precision < TARGET or t.recall < TARGET
    }
    wrong = {
        n: f"missed {sorted(misses(BY_NAME[n], r))}, false alarms {sorted(false_alarms(BY_NAME[n], r))}"
        for n, r in raised.items()
        if misses(BY_NAME[n], r) or false_alarms(BY_NAME[n], r)
    }
    assert not low and not errors, f"below {TARGET}: {low}; errors: {errors}; cases: {wrong}"


def test_the_benchmark_marks_misses_and_false_alarms_and_scores_them(load_script, monkeypatch, capsys):
    bench = load_script("benchmarks/bench_diagnose.py")
    monkeypatch.setattr(bench.zoo, "diagnose_flags", lambda case: frozenset({"dead"}))
    bench.main(["--cases", "mlp_dying_relu", "mlp_sigmoid_deep", "mlp_relu_he"])
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("mlp_")}
    assert set(lines) == {"mlp_dying_relu", "mlp_sigmoid_deep", "mlp_relu_he"}
    assert lines["mlp_dying_relu"].endswith(" ok")
    assert lines["mlp_sigmoid_deep"].endswith("MISS vanishing FALSE ALARM dead")
    assert lines["mlp_relu_he"].endswith("FALSE ALARM dead")
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines() if line.split()[:1] != []}
    assert rows["dead"] == ["0.33", "1.00", "1"]  # precision, recall, hits
    assert rows["vanishing"] == ["1.00", "0.00", "0"]
    assert rows["overall"] == ["0.33", "0.50", "1"]


def test_the_benchmark_selects_cases_by_glob_or_substring(load_script):
    bench = load_script("benchmarks/bench_diagnose.py")
    assert [c.name for c in bench.select(["gru_update", "hf_gpt2_*"])] == [
        "gru_update_open",
        "gru_update_closed",
        "hf_gpt2_nan_weight",
    ]
    assert len(bench.select(None)) == len(CASES)
    with pytest.raises(SystemExit, match="matches no case"):
        bench.select(["no_such_case"])

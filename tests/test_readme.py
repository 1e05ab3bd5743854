"""The README's example runs, and the number it quotes is what the code gives."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs_and_its_claim_holds():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert "below 1e-12" in blocks[0]
    assert scope["profile"].first_last_ratio < 1e-12
    assert scope["history"].layer_grad_norm.shape == (200, 20)


def _bad_input_section() -> str:
    text = README.read_text()
    start = text.index("## Bad input")
    return re.sub(r"\s+", " ", text[start : text.index("\n## ", start + 3)])


def test_the_bad_input_section_quotes_what_the_code_says(monkeypatch):
    import pytest

    import gradwidgets as gw
    from gradwidgets.explorers import gradient_flow

    monkeypatch.delenv("GRADWIDGETS_MAX_BYTES", raising=False)
    section = _bad_input_section()
    calls = [
        (
            lambda: gw.build_mlp(3, seed=1.5),
            "seed=1.5 is not allowed; it must be an integer from 0 to 9223372036854775807",
        ),
        (
            lambda: gw.build_mlp(3, activation="relux"),
            "activation='relux' is not supported (did you mean 'relu'?)",
        ),
        (
            lambda: gradient_flow(activaton="relu"),
            "activaton= is not an argument of gradient_flow() (did you mean 'activation'?)",
        ),
        (lambda: gw.build_mlp(10000, width=4096), "needs about 625.1 GiB, above the limit of 4.0 GiB"),
        (lambda: gw.build_mlp(True), "num_layers=True"),
        (lambda: gw.build_mlp(3, residual=1), "residual=1"),
    ]
    for make, quoted in calls:
        assert quoted in section, quoted
        with pytest.raises(ValueError) as err:
            make()
        assert quoted in str(err.value)
    monkeypatch.setenv("GRADWIDGETS_MAX_BYTES", str(700 * 2**30))
    assert "GRADWIDGETS_MAX_BYTES" in section
    with pytest.raises(ValueError, match="num_layers"):  # past the memory bound, the hard maximum
        gw.build_mlp(10001, width=8)
    assert "10,000 layers" in section

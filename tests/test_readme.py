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

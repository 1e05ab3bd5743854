"""The claims of book/primer.md, checked on the page's own code and against closed forms.

The ``primer`` fixture runs the page's code cells (as the book build does) and keeps the namespace;
the values it glues into its prose are in ``primer["glued"]``. Each test quotes what it checks.
"""

from pathlib import Path

import jupytext
import numpy as np
import pytest
import torch

PAGE = Path(__file__).resolve().parents[1] / "book" / "primer.md"


@pytest.fixture(scope="module")
def primer():
    glued = {}

    def glue(name, value, display=True):
        glued[name] = value

    ns = {"__name__": "primer"}
    for cell in jupytext.read(PAGE).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(PAGE), "exec"), ns)
            ns["glue"] = glue  # replaces myst_nb.glue, imported by the first cell
    ns["glued"] = glued
    return ns


def test_variance_of_a_sum_grows_like_n():
    """'a sum of n independent terms of variance v each has variance n v'; 'n inputs and n weights,
    both standard normal, for three widths, each over 20000 draws ... The variance grows like n;
    weights of variance 1/n (LeCun's initialization) bring it back to 1 at every width.'"""
    rng = np.random.default_rng(0)
    for n in (16, 64, 256):
        W, h = rng.standard_normal((20000, n)), rng.standard_normal((20000, n))
        z = (W * h).sum(axis=1)
        # the sample variance of 20000 draws is within about 3 standard errors, sqrt(2/20000)
        assert z.var() / n == pytest.approx(1, abs=0.04)
        assert (W / np.sqrt(n) * h).sum(axis=1).var() == pytest.approx(1, abs=0.04)


def test_he_weights_on_relu_inputs_keep_variance_one(primer):
    """'E[h^2] is {he_mean_sq}, close to 1/2, and Var(z) is {he_var}, close to n (2/n) 1/2 = 1'
    (n = 256, He's Var(W) = 2/n)."""
    assert primer["n"] == 256
    assert float(primer["glued"]["he_mean_sq"]) == pytest.approx(0.5, abs=0.01)
    assert float(primer["glued"]["he_var"]) == pytest.approx(1, abs=0.03)
    assert primer["W"].var().item() == pytest.approx(2 / 256, rel=0.01)


def test_norms_and_singular_values_of_a_random_matrix(primer):
    """'a random 256 x 256 matrix with entries of variance 1/n: Its largest singular value is {sv_max},
    close to 2 (... about 2g); its smallest is close to 0; and its Frobenius norm, {fro}, is far larger
    than what it does to any one vector. A typical vector is stretched by about 1: the root mean square
    of the singular values.' Also: the spectral norm is the largest singular value, the Frobenius norm
    sqrt(sum sigma^2), and ||A||_2 <= ||A||_F <= sqrt(r) ||A||_2."""
    A, s = primer["A"].double(), torch.linalg.svdvals(primer["A"].double())
    sv_max = float(primer["glued"]["sv_max"])
    assert sv_max == pytest.approx(2, abs=0.05) and sv_max == pytest.approx(float(s[0]), abs=0.01)
    assert float(s[-1]) < 0.01
    fro = float(torch.linalg.matrix_norm(A))
    assert float(primer["glued"]["fro"]) == pytest.approx(fro, abs=0.05) and fro > 7 * float(s[0])
    assert fro == pytest.approx(float(s.pow(2).sum().sqrt()))
    assert float(torch.linalg.matrix_norm(A, ord=2)) == pytest.approx(float(s[0]))
    assert float(s[0]) <= fro <= 256**0.5 * float(s[0])
    assert float(primer["stretch"]) == pytest.approx(1, abs=0.1)
    assert float(s.pow(2).mean().sqrt()) == pytest.approx(1, abs=0.01)
    v = torch.randn(256, dtype=torch.float64)
    assert float(s[-1]) <= float((A @ v).norm() / v.norm()) <= float(s[0])


def test_products_of_layers(primer):
    """'Ten random layers against ten orthogonal ones ... The Gaussian product stretches some directions
    and all but erases others; the orthogonal one keeps every singular value at 1; zeroing units sets
    singular values to exactly 0'; sigma_max(AB) <= sigma_max(A) sigma_max(B)."""
    g = torch.linalg.svdvals(primer["gaussian"].double())
    o = torch.linalg.svdvals(primer["orthogonal"].double())
    off = torch.linalg.svdvals(primer["switched_off"].double())
    assert g[0] > 2 and g[-1] < 1e-6
    assert torch.allclose(o, torch.ones_like(o), atol=1e-4)
    assert float(off.min()) < 1e-6 and float(off.max()) == pytest.approx(1, abs=1e-4)
    torch.manual_seed(1)
    a, b = torch.randn(50, 50, dtype=torch.float64), torch.randn(50, 50, dtype=torch.float64)
    spectral = lambda m: float(torch.linalg.matrix_norm(m, ord=2))  # noqa: E731
    assert spectral(a @ b) <= spectral(a) * spectral(b)

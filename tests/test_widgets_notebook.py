"""gradwidgets.widgets.notebook: one torch thread, and BokehJS inline unless the book is baking."""

import pytest

import gradwidgets as gw
from gradwidgets.widgets import notebook


def test_setup_notebook_does_nothing_while_baking(monkeypatch):
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    assert gw.setup_notebook() is None


@pytest.mark.parametrize("omp", [None, "2"])
def test_setup_notebook_uses_one_torch_thread_unless_omp_num_threads_is_set(monkeypatch, omp):
    import torch

    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        gw.setup_notebook()
        assert torch.get_num_threads() == (1 if omp is None else 2)
    finally:
        torch.set_num_threads(before)


def test_setup_notebook_loads_bokehjs_inline_and_quietly_when_not_baking(monkeypatch):
    import bokeh.io
    from bokeh.resources import INLINE

    calls = []
    monkeypatch.delenv("GRADWIDGETS_BAKE", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # leaves torch's thread setting alone
    monkeypatch.setattr(bokeh.io, "output_notebook", lambda **kw: calls.append(kw))
    assert gw.setup_notebook is notebook.setup_notebook
    notebook.setup_notebook()
    assert calls == [{"resources": INLINE, "hide_banner": True}]

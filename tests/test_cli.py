"""python -m gradwidgets report MODULE:FACTORY: the real command in a subprocess, errors in-process."""

import subprocess
import sys
import textwrap

import pytest

from gradwidgets import cli

FACTORIES = textwrap.dedent(
    """
    import torch
    from torch import nn


    def sigmoid_mlp():
        torch.manual_seed(0)
        layers = [nn.Linear(10, 32), nn.Sigmoid()]
        for _ in range(11):
            layers += [nn.Linear(32, 32), nn.Sigmoid()]
        return nn.Sequential(*layers, nn.Linear(32, 3))


    sigmoid_mlp.input_shape = (10,)


    class Recurrent(nn.Module):
        input_shape = (12, 4)

        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(4, 16, batch_first=True), nn.Linear(16, 1)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])


    def no_shape():
        return nn.Linear(3, 1)


    def broken():
        raise RuntimeError("the factory is broken")


    def not_a_model():
        return 42
    """
)


@pytest.fixture
def factories(tmp_path):
    (tmp_path / "factories.py").write_text(FACTORIES)
    return tmp_path


def _run(args, cwd):
    cmd = [sys.executable, "-m", "gradwidgets", "report", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_report_and_html_page(factories):
    out = _run(["factories:sigmoid_mlp", "--classes", "3", "--batch", "32", "--html", "page.html"], factories)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Report(Sequential: loss cross_entropy = ")
    assert "vanishing" in out.stdout and "Flags and their thresholds:" in out.stdout
    page = (factories / "page.html").read_text()
    assert "<table" in page and "vanishing" in page and "Bokeh" in page
    assert "cdn.bokeh.org" not in page  # BokehJS is inline: the page works offline


def test_path_to_a_file_and_input_shape_on_the_model(factories, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    out = _run([f"{factories / 'factories.py'}:Recurrent", "--seed", "3"], elsewhere)
    assert out.returncode == 0, out.stderr
    assert "loss mse" in out.stdout and " lstm " in out.stdout and "LSTM" in out.stdout


def test_error_is_one_line_without_traceback(factories):
    out = _run(["factories:broken"], factories)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "gradwidgets: error: factories:broken() raised RuntimeError: the factory is broken\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["factories"], "expected MODULE:FACTORY, got 'factories'"),
        (["nowhere:make"], "cannot import nowhere: ModuleNotFoundError"),
        (["missing.py:make"], "cannot import missing.py: FileNotFoundError"),
        (["factories:nothing"], "factories has no attribute 'nothing'"),
        (["factories:not_a_model"], "factories:not_a_model() returned int, not a torch.nn.Module"),
        (["factories:no_shape"], "no input shape: pass --input-shape"),
        (["factories:no_shape", "--input-shape", "a,b"], "input shape 'a,b' is not a list of integers"),
        (["factories:no_shape", "--input-shape", "0"], "input shape '0' must have positive sizes"),
        (["factories:no_shape", "--input-shape", "4"], "the model does not run on X of shape (64, 4)"),
        (["factories:no_shape", "--input-shape", "3", "--loss", "cross_entropy"], "cross_entropy needs"),
        (["factories:no_shape", "--input-shape", "3", "--batch", "1"], "--batch 1: need at least 2"),
        (["factories:sigmoid_mlp", "--classes", "5"], "y holds labels 0..4 but the model outputs (64, 3)"),
    ],
)
def test_errors(args, message, factories, monkeypatch, capsys):
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("factories", None)
    assert cli.main(["report", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gradwidgets: error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_input_shape_option_wins(factories, monkeypatch, capsys):
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("factories", None)
    assert cli.main(["report", "factories:no_shape", "--input-shape", "3"]) == 0
    assert "Report(Linear: loss mse" in capsys.readouterr().out

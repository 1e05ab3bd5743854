"""python -m gradwidgets report MODULE:FACTORY: the real command in a subprocess, errors in-process."""

import signal
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


    class TinyLM(nn.Module):  # as Hugging Face writes them: token ids in, labels= for its own loss

        input_shape = (12,)

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.embed, self.head = nn.Embedding(50, 16), nn.Linear(16, 50)

        def forward(self, input_ids, labels=None):
            logits = self.head(torch.tanh(self.embed(input_ids)))
            loss = None
            if labels is not None:  # next-token prediction, shifted as Hugging Face does
                shifted = logits[:, :-1].reshape(-1, 50), labels[:, 1:].reshape(-1)
                loss = nn.functional.cross_entropy(*shifted)
            return {"loss": loss, "logits": logits}


    def no_shape():
        return nn.Linear(3, 1)


    def broken():
        raise RuntimeError("the factory is broken")


    def not_a_model():
        return 42


    class Fails(nn.Module):
        def __init__(self, when):
            super().__init__()
            self.lin, self.when = nn.Linear(3, 2), when

        def forward(self, x):
            if self.when == "always" or self.training:
                raise RuntimeError("boom in forward")
            return self.lin(x)


    def forward_fails():
        return Fails("always")


    def fails_in_training():
        return Fails("training")


    class Returns(nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.lin, self.kind = nn.Linear(3, 2), kind

        def forward(self, x):
            out = self.lin(x)
            kinds = {"dict": {"logits": out, "hidden": x}, "tuple": (out, x), "none": None}
            return {**kinds, "two": {"a": out, "b": x}, "loss": {"loss": out.sum()}}[self.kind]


    def returns_dict():
        return Returns("dict")


    def returns_tuple():
        return Returns("tuple")


    def returns_none():
        return Returns("none")


    def returns_two():
        return Returns("two")


    def returns_loss():
        return Returns("loss")


    def on_meta():
        with torch.device("meta"):
            return nn.Linear(3, 2)


    def exits():
        raise SystemExit(3)


    def interrupted():
        raise KeyboardInterrupt


    def sigint():
        import os, signal

        os.kill(os.getpid(), signal.SIGINT)
        import time

        time.sleep(5)
    """
)


@pytest.fixture
def factories(tmp_path):
    (tmp_path / "factories.py").write_text(FACTORIES)
    return tmp_path


def _default_sigint() -> None:
    # a shell without job control starts background commands with SIGINT ignored, and Python
    # keeps an ignored SIGINT ignored: Ctrl+C then never reaches the CLI (seen under `make test &`)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(args, cwd):
    cmd = [sys.executable, "-m", "gradwidgets", "report", *args]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=300, preexec_fn=_default_sigint
    )


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
        (["factories:no_shape", "--input-shape", "4"], "the model's forward failed: RuntimeError: mat1"),
        (["factories:no_shape", "--input-shape", "3", "--loss", "cross_entropy"], "cross_entropy needs"),
        (
            ["factories:no_shape", "--input-shape", "3", "--batch", "1"],
            "--batch=1 is not allowed; it must be an integer >= 2",
        ),
        (["factories:TinyLM", "--vocab", "1"], "--vocab=1 is not allowed; it must be an integer"),
        (
            ["factories:sigmoid_mlp", "--classes", "5"],
            "y holds labels 0..4 but the model outputs 3 classes ((64, 3))",
        ),
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


HUGE = "gradwidgets: error: the batch X (--batch {}) needs about {}, above the limit of 4.0 GiB; raise it"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["factories:forward_fails", "--input-shape", "3"], "the model's forward failed: RuntimeError: boom"),
        (
            ["factories:fails_in_training", "--input-shape", "3"],
            "model: its forward raised RuntimeError: boom in forward (on X of shape (64, 3)",
        ),
        (["factories:returns_two", "--input-shape", "3"], "returned an output the report cannot use: model"),
        (["factories:returns_none", "--input-shape", "3"], "returned a NoneType this cannot measure"),
        (
            ["factories:returns_loss", "--input-shape", "3"],
            "the model's forward returned only a 'loss' entry",
        ),
        (["factories:on_meta", "--input-shape", "3"], "parameters on the 'meta' device"),
        (["factories:exits"], "factories:exits() raised SystemExit: 3"),
        (["badimport:make"], "cannot import badimport: ZeroDivisionError: division by zero"),
        (
            ["factories:no_shape", "--input-shape", "100000,100000"],
            HUGE.format("64 x --input-shape 100000,100000", "2.3 TiB"),
        ),
        (
            ["factories:no_shape", "--input-shape", "3", "--batch", str(10**9)],
            HUGE.format("1000000000 x --input-shape 3", "11.2 GiB"),
        ),
        (["factories:no_shape", "--input-shape", "9" * 30], "above the limit of 4.0 GiB"),
        (
            ["factories:no_shape", "--input-shape", "3", "--seed", str(2**70)],
            f"--seed={2**70} is not allowed",
        ),
        (
            ["factories:no_shape", "--input-shape", "3", "--seed", "-1"],
            "--seed=-1 is not allowed; it must be an integer from 0",
        ),
        (["factories:no_shape", "--input-shape", "3", "--classes", "1"], "--classes=1 is not allowed"),
        (["factories:no_shape", "--input-shape", "32,x"], "input shape '32,x' is not a list of integers"),
        (["factories:no_shape", "--input-shape", ""], "input shape '' is not a list of integers"),
        (["factories:no_shape", "--input-shape", "0,3"], "input shape '0,3' must have positive sizes"),
        (["factories:no_shape", "--input-shape", "-1"], "input shape '-1' must have positive sizes"),
        (
            ["factories:no_shape", "--input-shape", "3", "--html", "nowhere/r.html"],
            "no such directory nowhere",
        ),
        (
            ["factories:no_shape", "--input-shape", "3", "--html", "."],
            "cannot write --html .: it is a directory",
        ),
    ],
)
def test_failures_of_the_users_code_or_input_are_one_line(args, message, factories, monkeypatch, capsys):
    (factories / "badimport.py").write_text("1 / 0\n")
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("GRADWIDGETS_MAX_BYTES", raising=False)
    for name in ("factories", "badimport"):
        sys.modules.pop(name, None)
    assert cli.main(["report", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("gradwidgets: error: ") and captured.err.count("\n") == 1
    assert message in captured.err


def test_the_memory_bound_follows_the_environment_variable(factories, monkeypatch, capsys):
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("factories", None)
    monkeypatch.setenv("GRADWIDGETS_MAX_BYTES", "100")
    assert cli.main(["report", "factories:no_shape", "--input-shape", "3"]) == 2
    assert "needs about 768 bytes, above the limit of 100 bytes" in capsys.readouterr().err
    monkeypatch.setenv("GRADWIDGETS_MAX_BYTES", "lots")
    assert cli.main(["report", "factories:no_shape", "--input-shape", "3"]) == 2
    assert capsys.readouterr().err == (
        "gradwidgets: error: GRADWIDGETS_MAX_BYTES='lots' is not allowed; it must be a number of bytes >= 1\n"
    )


@pytest.mark.parametrize("factory", ["returns_tuple", "returns_dict"])
def test_tuple_and_dict_outputs_are_read_by_the_librarys_rule(factory, factories, monkeypatch, capsys):
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("factories", None)
    assert cli.main(["report", f"factories:{factory}", "--input-shape", "3", "--classes", "2"]) == 0
    assert "Report(Returns: loss cross_entropy" in capsys.readouterr().out


def test_keyboard_interrupt_exits_130_with_one_line(factories, monkeypatch, capsys):
    monkeypatch.chdir(factories)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("factories", None)
    assert cli.main(["report", "factories:interrupted"]) == 130
    assert capsys.readouterr().err == "gradwidgets: interrupted\n"


def test_ctrl_c_in_a_real_process_exits_130(factories):
    out = _run(["factories:sigint"], factories)
    assert out.returncode == 130 and out.stderr == "gradwidgets: interrupted\n"


def test_forward_failure_in_a_process_and_the_traceback_only_with_debug(factories):
    out = _run(["factories:forward_fails", "--input-shape", "3"], factories)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith(
        "gradwidgets: error: the model's forward failed: RuntimeError: boom in forward"
    )
    assert out.stderr.count("\n") == 1
    debug = _run(["factories:forward_fails", "--input-shape", "3", "--debug"], factories)
    assert (
        debug.returncode == 2 and "Traceback" in debug.stderr and 'raise RuntimeError("boom' in debug.stderr
    )
    assert debug.stderr.splitlines()[-1] == out.stderr.strip()


def test_a_usage_error_is_one_line_too(factories):
    out = _run(["factories:no_shape", "--batch", "abc"], factories)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (
        "gradwidgets: error: argument --batch: invalid int value: 'abc' "
        "(see python -m gradwidgets report --help)\n"
    )


def test_help_documents_debug_and_the_exit_status(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--debug" in text and "traceback" in text
    assert "0    the report was made, whether or not it flags layers" in text and "130  interrupted" in text


def test_a_language_model_gets_token_ids_and_is_measured_on_its_own_loss(factories):
    out = _run(["factories:TinyLM", "--vocab", "50", "--batch", "8"], factories)
    assert out.returncode == 0, out.stderr
    assert "TinyLM: loss the model's own loss = " in out.stdout
    assert "Reported 2 layers holding 100% of trainable parameters." in out.stdout
    named = _run(["factories:TinyLM", "--vocab", "50", "--loss", "cross_entropy", "--batch", "8"], factories)
    assert named.returncode == 0, named.stderr
    assert "TinyLM: loss cross_entropy = " in named.stdout  # labels (batch, 12) against (batch, 12, 50)

"""gradwidgets.widgets.staticface: the static face's markup (its behaviour in a browser:
test_widgets_static.py)."""

import html
import json
import re

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from gradwidgets.widgets.staticface import FaceControl, StaticFace, face_html


def _face(controls, status="ok", problem=False) -> StaticFace:
    source = ColumnDataSource({"x": np.arange(3.0), "y": np.ones(3)}, name="t:s")
    fig = figure()
    fig.line("x", "y", source=source)
    return StaticFace(
        "t",
        "A <title>",
        tuple(controls),
        {"0": "gw-" + "0" * 32},
        {},
        None,
        status,
        problem,
        column(fig),
        {"s": source},
    )


def test_the_status_and_labels_are_text_escaped_once():
    control = FaceControl("a", "A & <b>", "buttons", ("x<y", "'z'"), 1)
    face = _face([control], status="ratio <1e-3 & 'falling'")
    text = face_html(face)
    shown = re.search(r'<p class="gw-status"[^>]*>(.*?)</p>', text).group(1)
    assert "<" not in shown and html.unescape(shown) == "ratio <1e-3 & 'falling'"
    assert "<b>" not in text and "A &amp; &lt;b&gt;" in text and "x&lt;y" in text
    assert re.search(r'value="1" checked><span>&#x27;z&#x27;</span>', text)  # the default is chosen


def test_each_face_has_its_own_ids_and_radio_group():
    controls = [
        FaceControl("a", "A", "buttons", ("x", "y"), 0),
        FaceControl("n", "N", "slider", ("1", "2", "4"), 2),
    ]
    one, two = face_html(_face(controls)), face_html(_face(controls))
    ids = [re.search(r'id="(gw-face-[0-9a-f]+)"', t).group(1) for t in (one, two)]
    assert ids[0] != ids[1]
    for face_id, text in zip(ids, (one, two), strict=True):
        assert set(re.findall(r'type="radio" name="([^"]+)"', text)) == {f"{face_id}-0"}
        assert f'<input type="range" id="{face_id}-1"' in text and f'<label for="{face_id}-1">' in text
        assert 'aria-valuetext="4"' in text and f'gradwidgetsFaces.attach("{face_id}")' in text


def test_settings_ride_in_json_that_cannot_close_its_script():
    face = _face([FaceControl("a", "A", "none", ("</script>",), 0)])
    text = face_html(face)
    data = re.search(r'<script type="application/json" class="gw-face-data">(.*?)</script>', text).group(1)
    settings = json.loads(data)
    assert settings["labels"] == [["</script>"]] and settings["kinds"] == ["none"]
    assert settings["root"] == face.layout.id and settings["sources"] == ["s"]
    assert not re.search(r'data-control="\d', text)  # a single choice shows no control

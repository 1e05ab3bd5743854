"""gradwidgets.widgets.switch_js: the static face's callback (its behaviour: test_widgets_static)."""

import re

from gradwidgets.plots.theme import STATUS_OK, STATUS_PROBLEM
from gradwidgets.widgets.switch_js import LOADING_AFTER_MS, SWITCH_JS


def test_every_placeholder_is_filled_with_the_themes_status_colours():
    assert f'problem ? "{STATUS_PROBLEM}" : "{STATUS_OK}"' in SWITCH_JS
    assert "STATUS_" not in SWITCH_JS and "LOADING_AFTER_MS" not in SWITCH_JS
    assert re.search(rf"\}},\s*{LOADING_AFTER_MS}\);", SWITCH_JS)


def test_shards_load_through_script_elements_never_fetch():
    # fetch() is blocked on a site opened from disk (file://); a <script> element is not
    assert 'document.createElement("script")' in SWITCH_JS and "fetch(" not in SWITCH_JS

"""book/_ext/webfont_subset.py cuts Font Awesome's web fonts to the glyphs the stylesheets draw."""

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont


@pytest.fixture
def ext(load_script):
    return load_script("book/_ext/webfont_subset.py")


def _theme_font(name: str) -> Path:
    import pydata_sphinx_theme

    return (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme/pydata_sphinx_theme/static/vendor/fontawesome/webfonts"
        / name
    )


def test_the_icons_a_stylesheet_names_are_its_private_use_characters_and_escapes(ext):
    css = '.a:after{content:"\\f107"} :root{--pst-icon-bell:"\uf0f3"} .b:before{content:"\\2014 x"}'
    assert ext.stylesheet_icons(css) == {0xF107, 0xF0F3}  # not the em dash


def test_the_cut_font_holds_exactly_the_named_glyphs_it_had(ext, tmp_path):
    source, target = _theme_font("fa-solid-900.woff2"), tmp_path / "fa-solid-900.woff2"
    wanted = {0xF0EB, 0xF071, 0xF303, 0xF09B}  # lightbulb, warning, pencil; github is a brand
    size = ext.subset_font(source, target, wanted)
    assert TTFont(target).flavor == "woff2"
    assert set(TTFont(target).getBestCmap()) == {0xF0EB, 0xF071, 0xF303}
    assert size < 5_000 < source.stat().st_size

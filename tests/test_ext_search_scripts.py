"""book/_ext/search_scripts.py loads the search index on search.html alone."""

from types import SimpleNamespace

import pytest

HEAD = """  <link rel="search" title="Search" href="../search.html" />
    <script src="../_static/searchtools.js"></script>
    <script src="../_static/language_data.js"></script>
    <script src="../searchindex.js"></script>
    <script src="../_static/scroll_cue.js?v=61d00e75"></script>
"""


@pytest.fixture
def ext(load_script):
    return load_script("book/_ext/search_scripts.py")


def test_only_the_three_search_scripts_are_removed(ext):
    out = ext.without_search_scripts(HEAD)
    assert "searchindex.js" not in out and "searchtools.js" not in out and "language_data.js" not in out
    assert 'href="../search.html"' in out and "scroll_cue.js" in out


def _site(tmp_path, search_as_you_type=False):
    (tmp_path / "book").mkdir()
    for page in ("search.html", "genindex.html", "book/intro.html"):
        (tmp_path / page).write_text(HEAD)
    options = {"search_as_you_type": search_as_you_type}
    return SimpleNamespace(
        outdir=str(tmp_path),
        builder=SimpleNamespace(format="html"),
        config=SimpleNamespace(html_theme_options=options),
    )


def test_every_page_but_search_html_loses_them(ext, tmp_path):
    ext.drop_search_scripts(_site(tmp_path), None)
    assert "searchindex.js" in (tmp_path / "search.html").read_text()
    assert "searchindex.js" not in (tmp_path / "genindex.html").read_text()
    assert "searchindex.js" not in (tmp_path / "book" / "intro.html").read_text()


def test_with_search_as_you_type_every_page_keeps_them(ext, tmp_path):
    ext.drop_search_scripts(_site(tmp_path, search_as_you_type=True), None)
    assert "searchindex.js" in (tmp_path / "book" / "intro.html").read_text()

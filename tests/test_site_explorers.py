"""On the built site, every option of every explorer's controls shows the results baked for it.

For each chapter with explorers, in headless Chromium on loopback: every explorer's face is read
from ``window.gradwidgetsFaces`` (:mod:`gradwidgets.widgets.switch_js`), and each option of each
control is chosen in turn (the others at their defaults). After each choice the plotted data
and the status line must be the shard the page's index names for that setting, read here from
``_build/html/_static/baked`` with :func:`gradwidgets.widgets.shards.unpack`; never "not
precomputed", never "could not be loaded". A page opened from disk (``file://``) loads its
shards too.
"""

import re

import numpy as np
import pytest
from test_site import ALL_BUILT_JS, PAGES, _explorer_pages

from gradwidgets.widgets.shards import read_script, unpack

LIST_JS = """() => Array.from(gradwidgetsFaces.faces.values()).map((f) => ({
  id: f.id, explorer: f.explorer, kinds: f.kinds, sizes: f.labels.map((l) => l.length),
  index: f.index, positions: f.positions(),
}))"""

# Set a face's controls to `positions` (each changed control as its input event would) and
# return, once the page has applied the change, the status line and the plotted columns.
CHOOSE_JS = """async ([id, positions]) => {
  const f = gradwidgetsFaces.faces.get(id);
  await f.set(positions);
  const sources = await f.drawn();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const entries = (o) => (o instanceof Map ? Array.from(o.entries()) : Object.entries(o));
  const data = Array.from(sources.entries()).map(([name, s]) =>
    [name, Object.fromEntries(entries(s.data).map(([c, v]) => [c, Array.from(v)]))]);
  return {status: document.getElementById(id).querySelector(".gw-status").textContent,
          data: Object.fromEntries(data)};
}"""


def _check(shown: dict, shard: dict, where: str) -> None:
    assert "not precomputed" not in shown["status"] and "could not be loaded" not in shown["status"], where
    assert shown["status"] == shard["status"], where
    for source, columns in shard["data"].items():
        for name, expected in columns.items():
            got = shown["data"][source][name]
            if isinstance(expected, list):
                assert got == expected, f"{where}: {source}.{name}"
            else:
                got = np.array([np.nan if v is None else v for v in got], dtype=np.float64)
                np.testing.assert_array_equal(
                    got, expected.astype(np.float64), err_msg=f"{where}: {source}.{name}"
                )


def _walk(page, html_dir, name: str) -> int:
    page.wait_for_function(ALL_BUILT_JS, timeout=60000)
    explorers = page.evaluate(LIST_JS)
    assert explorers, f"{name}: no explorer faces found"
    checked = 0
    for ex in explorers:
        default = ex["positions"]
        assert set(ex["index"]) >= {"-".join(map(str, default))}
        settings = [default] + [
            [*default[:i], j, *default[i + 1 :]]
            for i, kind in enumerate(ex["kinds"])
            if kind != "none"
            for j in range(ex["sizes"][i])
            if j != default[i]
        ]
        for positions in [*settings, default]:
            key = "-".join(map(str, positions))
            assert key in ex["index"], f"{name} {ex['explorer']}: setting {key} has no shard"
            shard = unpack(read_script(html_dir / "_static" / "baked" / f"{ex['index'][key]}.js"))
            shown = page.evaluate(CHOOSE_JS, [ex["id"], positions])
            _check(shown, shard, f"{name} {ex['explorer']} {key}")
            checked += 1
    return checked


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", _explorer_pages())
def test_every_option_of_every_control_shows_its_baked_results(browser, server, built_book, name):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
        page.goto(f"{server}/{name}", wait_until="load")
        assert _walk(page, built_book, name) >= 4
    finally:
        context.close()
    assert errors == []


@pytest.mark.slow
@pytest.mark.browser
def test_shards_load_on_a_page_opened_from_disk(browser, built_book):
    name = next(p for p in _explorer_pages() if p in PAGES)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto((built_book / name).as_uri(), wait_until="load")
        explorers = page.wait_for_function(ALL_BUILT_JS, timeout=60000) and page.evaluate(LIST_JS)
        ex = explorers[0]
        i = next(i for i, kind in enumerate(ex["kinds"]) if kind != "none")
        positions = list(ex["positions"])
        positions[i] = (positions[i] + 1) % ex["sizes"][i]
        key = "-".join(map(str, positions))
        shard = unpack(read_script(built_book / "_static" / "baked" / f"{ex['index'][key]}.js"))
        _check(page.evaluate(CHOOSE_JS, [ex["id"], positions]), shard, f"file:// {name} {key}")
    finally:
        context.close()


@pytest.mark.slow
def test_the_site_publishes_exactly_the_shards_its_pages_name(built_book):
    named = set()
    for page in built_book.rglob("*.html"):
        named.update(re.findall(r"gw-[0-9a-f]{32}", page.read_text(encoding="utf8")))
    published = {p.stem for p in (built_book / "_static" / "baked").glob("*.js")}
    assert named and published == named

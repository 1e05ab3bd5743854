"""gradwidgets.widgets.inflate_js: the page's synchronous gunzip agrees with zlib and refuses
what is not gzip."""

import base64
import gzip
import io
import json
import random
import zlib

import pytest
from _browser import browser_page

from gradwidgets.widgets.inflate_js import GUNZIP_JS


def _gzip_cases() -> list[tuple[bytes, bytes]]:
    """(gzip member, its content): stored, fixed and dynamic blocks, long runs, a named header."""
    rng = random.Random(7)
    contents = [
        b"",
        b"a",
        rng.randbytes(70_000),
        b"ab" * 40_000,
        json.dumps([{"x": i, "t": "é⋯₂"} for i in range(2000)]).encode(),
    ]
    for _ in range(12):
        alphabet = bytes(rng.sample(range(256), rng.randint(1, 40)))
        contents.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 6000))))
    cases = []
    for content in contents:
        cases += [(gzip.compress(content, compresslevel=level, mtime=0), content) for level in (0, 1, 9)]
        for strategy in (zlib.Z_FIXED, zlib.Z_HUFFMAN_ONLY):
            packer = zlib.compressobj(9, zlib.DEFLATED, 31, 9, strategy)
            cases.append((packer.compress(content) + packer.flush(), content))
        named = io.BytesIO()
        with gzip.GzipFile(filename="doc.json", mode="wb", fileobj=named, mtime=1) as f:
            f.write(content)
        cases.append((named.getvalue(), content))
    return cases


@pytest.mark.browser
def test_the_page_gunzip_agrees_with_zlib_and_refuses_what_is_not_gzip():
    cases = _gzip_cases()
    with browser_page() as bp:
        bp.page.set_content("<html><body></body></html>")
        got = bp.page.evaluate(
            """([source, cases]) => {
                const gunzip = eval(source);
                const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
                const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
                return cases.map((b64) => hex(gunzip(bytes(b64))));
            }""",
            [GUNZIP_JS, [base64.b64encode(packed).decode() for packed, _ in cases]],
        )
        assert got == [content.hex() for _, content in cases]
        broken = [
            b"",
            b"not gzip at all",
            gzip.compress(b"x" * 500, mtime=0)[:14],
            bytes([31, 139, 8, 0, 0, 0, 0, 0, 0, 0, 7]),
        ]
        errors = bp.page.evaluate(
            """([source, cases]) => {
                const gunzip = eval(source);
                return cases.map((b64) => {
                    try { gunzip(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))); return null; }
                    catch (e) { return e.message; }
                });
            }""",
            [GUNZIP_JS, [base64.b64encode(b).decode() for b in broken]],
        )
        assert all(e is not None and e.startswith("gunzip: ") for e in errors), errors

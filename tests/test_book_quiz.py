"""The chapters' self-checks in the built book, in headless Chromium, offline.

Every chapter page has at least three question containers (class ``gw-quiz``); choosing a wrong
and then the right answer (or typing a wrong and then the right number) shows each answer's
feedback, with no console error and no request off this machine. The book is built with
``make book`` first (conftest's ``built_book``), as for tests/test_site.py. Besides them, which
need no browser: every chapter has a self-check cell, and an exercise that asks the learner to
predict before running and one that asks for a remedy that works.
"""

import re
from pathlib import Path

import pytest
from _browser import browser_page

from gradwidgets.lessons import selfcheck

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "artifacts" / "quiz"
CHAPTERS = selfcheck.chapters()


def test_every_course_chapter_has_a_self_check_cell_and_both_kinds_of_exercise():
    """Each chapter of "The course" in _toc.yml shows its self-check and has an exercise titled
    "Predict, then ..." and one titled "Apply a remedy" (or "Another remedy")."""
    toc = (ROOT / "_toc.yml").read_text()
    course = toc[toc.index("caption: The course") :].split("caption:")[1]
    listed = re.findall(r"file: book/([\w-]+)", course)
    assert listed == CHAPTERS
    for chapter in CHAPTERS:
        text = (ROOT / "book" / f"{chapter}.md").read_text()
        assert f'self_check("{chapter}")' in text, chapter
        titles = re.findall(r"^```\{exercise\} (.*)$", text, re.M)
        assert any(t.startswith("Predict, then") for t in titles), (chapter, titles)
        assert any(re.match(r"(Apply (a|the) remedy|Another remedy)", t) for t in titles), (chapter, titles)


@pytest.fixture(scope="module")
def site(server):
    """The built book on 127.0.0.1 (conftest's ``server``: built with ``make book`` if needed)."""
    return server


def _open(page, url):
    page.goto(url, wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('.gw-quiz .Quiz').length >= 3", timeout=60_000)


def _answer_numeric(root, text):
    box = root.locator("input.Input-text")
    box.fill(text)
    box.press("Enter")


def _feedback(root):
    fb = root.locator(".Feedback")
    return fb.get_attribute("class"), fb.inner_text().strip()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_self_check_answers_show_their_explanations_offline(site, chapter):
    questions = selfcheck.questions(chapter)
    with browser_page(1280, 900) as visit:
        page = visit.page
        _open(page, f"{site}/book/{chapter}.html")
        roots = page.locator(".gw-quiz")
        assert roots.count() == len(questions) >= 3
        for i, question in enumerate(questions):
            root = roots.nth(i)
            root.scroll_into_view_if_needed()
            if question["type"] == "numeric":
                lo, hi = question["answers"][0]["range"]
                _answer_numeric(root, f"{hi * 10 + 1:g}")
                classes, text = _feedback(root)
                assert "incorrect" in classes and text.startswith("Not quite"), text
                _answer_numeric(root, f"{(lo + hi) / 2:.6g}")
                classes, text = _feedback(root)
                assert "correct" in classes.split() and text == question["answers"][0]["feedback"]
                continue
            wrong = root.locator("label.MCButton[data-correct='false']").first
            wrong.click()
            classes, text = _feedback(root)
            label = wrong.inner_text().strip()
            wanted = next(a["feedback"] for a in question["answers"] if a["answer"] == label)
            assert "incorrect" in classes and text == wanted
            root.locator("label.MCButton[data-correct='true']").click()
            classes, text = _feedback(root)
            right = next(a for a in question["answers"] if a["correct"])
            assert "correct" in classes.split() and text == right["feedback"]
        page.wait_for_timeout(700)  # jupyterquiz typesets its feedback after 500 ms
        assert visit.console_errors == []
        assert visit.blocked == []


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_self_check_screenshots(site, width):
    """Screenshots to look at (artifacts/quiz/): the first question answered, at two widths."""
    with browser_page(width, 900) as visit:
        page = visit.page
        _open(page, f"{site}/book/vanishing-exploding.html")
        root = page.locator(".gw-quiz").first
        root.scroll_into_view_if_needed()
        root.locator("label.MCButton[data-correct='false']").first.click()
        SHOTS.mkdir(parents=True, exist_ok=True)
        box = page.locator(".gw-selfcheck")
        box.screenshot(path=SHOTS / f"vanishing-exploding-{width}.png")
        assert box.bounding_box()["width"] <= width
        assert visit.console_errors == [] and visit.blocked == []

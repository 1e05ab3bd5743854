// Marks every box of the article that scrolls sideways and is narrower than its content with
// the class `gw-scrolls` (book.css draws a shadow on the side where more is hidden and a
// scrollbar that stays visible), and keeps the marks right when the page is resized, when
// MathJax has typeset the formulas and as the reader scrolls the box.
(function () {
  "use strict";
  const BOXES = "pre, div.math, mjx-container, table, div.output, div.pst-scrollable-table-container";

  function update(box) {
    const scrolls = ["auto", "scroll"].includes(getComputedStyle(box).overflowX);
    const wider = scrolls && box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("gw-scrolls", wider);
    box.classList.toggle("gw-scroll-start", wider && box.scrollLeft <= 1);
    box.classList.toggle("gw-scroll-end", wider && box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
  }

  function updateAll() {
    const article = document.querySelector("article") || document.body;
    article.querySelectorAll(BOXES).forEach((box) => {
      update(box);
      if (!box.dataset.gwCue) {
        box.dataset.gwCue = "1";
        box.addEventListener("scroll", () => update(box), {passive: true});
      }
    });
  }

  let pending = false;
  function later() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      updateAll();
    });
  }

  function start() {
    updateAll();
    window.addEventListener("resize", later);
    if (window.ResizeObserver) new ResizeObserver(later).observe(document.querySelector("article") || document.body);
    // MathJax typesets after the load event (book/_ext/late_mathjax.py)
    window.addEventListener("load", () => {
      if (!document.querySelector(".math")) return;
      const wait = setInterval(() => {
        const ready = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
        if (!ready) return;
        clearInterval(wait);
        ready.then(later);
      }, 100);
      setTimeout(() => clearInterval(wait), 30000);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

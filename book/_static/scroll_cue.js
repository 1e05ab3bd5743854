// Marks every box of the article that scrolls sideways and is narrower than its content with
// the class `gw-scrolls` (book.css draws a shadow on the side where more is hidden and a
// scrollbar that stays visible), and keeps the marks right when the page is resized, when the
// fonts have loaded and as the reader scrolls the box.
(function () {
  "use strict";
  const BOXES = "pre, div.math, table, div.output, div.pst-scrollable-table-container";

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
    // a web font that arrives late changes the widths (the formulas' math fonts are local)
    if (document.fonts) document.fonts.ready.then(later);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

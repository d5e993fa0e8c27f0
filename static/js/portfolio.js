/* The portfolio's row selection (Managers): ticking rows shows the "Reassign selected to …"
 * bar (templates/portfolio/portfolio.html, #bulk-reassign) with how many are ticked, and
 * asks it to load the owners' list (the "reassign-pick" event). The header's box ticks
 * every row of the page. A table swap (sort, filter, page, after reassigning) starts afresh.
 */
(function () {
  "use strict";

  function boxes() {
    return Array.from(document.querySelectorAll("#portfolio-table input[name='account']"));
  }

  function refresh() {
    var bar = document.getElementById("bulk-reassign");
    if (!bar) return;
    var all = boxes();
    var picked = all.filter(function (box) { return box.checked; }).length;
    bar.hidden = picked === 0;
    bar.querySelector("[data-picked]").textContent = String(picked);
    var pickAll = document.querySelector("#portfolio-table [data-pick-all]");
    if (pickAll) {
      pickAll.checked = picked > 0 && picked === all.length;
      pickAll.indeterminate = picked > 0 && picked < all.length;
    }
    if (picked > 0 && window.htmx) window.htmx.trigger(document.body, "reassign-pick");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("#portfolio-table [data-pick-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
      refresh();
    } else if (target.matches("#portfolio-table input[name='account']")) {
      refresh();
    }
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest("#bulk-reassign [data-unpick]")) return;
    boxes().forEach(function (box) { box.checked = false; });
    refresh();
  });

  // The back button may restore ticked boxes from the browser's form cache.
  window.addEventListener("pageshow", refresh);
})();

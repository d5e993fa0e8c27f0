/* The weekly review, printed: Plotly draws charts at the screen's width, which a printed
 * page is narrower than. Before printing (and in print emulation), redraw each chart at
 * the width of its box in the print layout; afterwards, at the screen's again.
 */
(function () {
  "use strict";

  function resizeCharts() {
    if (typeof window.Plotly === "undefined") return;
    document.querySelectorAll(".js-plotly-plot").forEach(function (chart) {
      window.Plotly.Plots.resize(chart);
    });
  }

  window.addEventListener("beforeprint", resizeCharts);
  window.addEventListener("afterprint", resizeCharts);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    if (print.addEventListener) print.addEventListener("change", resizeCharts);
  }
})();

/* Healthboard: the little behaviour every page shares. Loaded with defer, after htmx.
 *
 * - Dismissible messages: a button with data-dismiss="alert" removes its .alert.
 * - HTMX errors: htmx 2 does not swap 4xx/5xx responses, so without this a failed request
 *   looks like nothing happened. Say so in the messages area instead.
 * - The .js class on <html> once this script runs: what only a page without JavaScript needs
 *   (.no-js-only, e.g. the language chooser's button) is hidden then.
 * - Charts: <div class="chart" data-plotly-figure="{{ figure_json }}"></div>, where
 *   figure_json is fig.to_json(), is drawn on page load and whenever HTMX swaps it in
 *   (the page must load plotly.js: {% block plotly %}{% include "components/plotly_js.html" %}),
 *   in the page's language (<html lang>: Plotly's locale and the number separators).
 * - No inline handlers or style attributes (the Content-Security-Policy refuses them):
 *   <select data-submit-on-change> submits its form when changed; <button data-print>
 *   prints the page; data-grow="n" sets a flex item's grow (a proportional bar) through
 *   element.style, which the policy allows.
 * - Menus (<details class="dropdown">, the header's Admin menu) close on a click outside
 *   them and on Escape, as menus do; without JavaScript they open and close on their summary.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss='alert']");
    if (button) {
      var alert = button.closest(".alert");
      if (alert) alert.remove();
    }
    if (event.target.closest("[data-print]")) window.print();
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
  });

  function setProportions(root) {
    var items = Array.from(root.querySelectorAll("[data-grow]"));
    if (root.matches && root.matches("[data-grow]")) items.push(root);
    items.forEach(function (el) {
      el.style.flexGrow = el.dataset.grow;
    });
  }

  function showMessage(text, level) {
    var area = document.getElementById("messages");
    if (!area) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + (level || "error");
    alert.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "alert__close";
    close.setAttribute("data-dismiss", "alert");
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "\u00d7";
    alert.append(p, close);
    area.append(alert);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text =
      status === 403 ? "You don't have access to do that." :
      status === 404 ? "That page or item no longer exists." :
      "Something went wrong (error " + status + "). Please try again.";
    showMessage(text, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached. Check your connection and try again.", "error");
  });

  // Charts read in the page's language (<html lang>): Plotly's locale (registered by the
  // locale file the page loads) names months and days; the separators are the language's
  // decimal and thousands marks, as the page's own numbers use them.
  var language = document.documentElement.lang || "en";
  function separators() {
    try {
      var parts = new Intl.NumberFormat(language).formatToParts(12345.6);
      var mark = function (type) {
        var part = parts.find(function (p) { return p.type === type; });
        return part ? part.value : "";
      };
      return (mark("decimal") || ".") + (mark("group") || ",");
    } catch (error) {
      return ".,";
    }
  }

  function drawCharts(root) {
    if (typeof window.Plotly === "undefined") return;
    var charts = Array.from(root.querySelectorAll("[data-plotly-figure]"));
    if (root.matches && root.matches("[data-plotly-figure]")) charts.push(root);
    charts.forEach(function (el) {
      if (el.dataset.plotlyDrawn) return;
      var figure = JSON.parse(el.dataset.plotlyFigure);
      var config = Object.assign({ responsive: true, displaylogo: false }, figure.config || {});
      var layout = figure.layout || {};
      if (language !== "en") {
        if (!config.locale) config.locale = language;
        if (!layout.separators) layout.separators = separators();
      }
      window.Plotly.newPlot(el, figure.data || [], layout, config);
      el.dataset.plotlyDrawn = "1";
    });
  }

  function onLoad(root) {
    setProportions(root);
    drawCharts(root);
  }

  if (window.htmx) {
    // onLoad runs for the page itself and for every piece of content HTMX swaps in.
    window.htmx.onLoad(onLoad);
  } else {
    document.addEventListener("DOMContentLoaded", function () { onLoad(document); });
  }
})();

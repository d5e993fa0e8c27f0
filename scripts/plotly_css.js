// Writes the styles plotly.js would otherwise inject as inline <style> elements (refused by
// the Content-Security-Policy) as stylesheets, read out of the vendored bundle. Re-run after
// updating static/vendor/plotly.min.js:
//   node scripts/plotly_css.js static/vendor
// It writes plotly.css (plotly.js's own rules) and plotly-maps.css (MapLibre's, for map
// traces) and prints the id each must be linked with: components/plotly_js.html links them
// so, and plotly.js then finds them there and injects nothing (plotly/plotly.js#7109;
// tests/test_csp.py checks the ids against the bundle).
"use strict";
const fs = require("fs");
const path = require("path");
const dir = process.argv[2];
const bundle = fs.readFileSync(path.join(dir, "plotly.min.js"), "utf8");
const version = (bundle.match(/plotly\.js v(\d+\.\d+\.\d+)/) || [])[1] || "unknown";

// A JavaScript literal (object or quoted string) starting at `start`: its source.
function literal(start) {
  const open = bundle[start];
  let depth = 0;
  let quote = null;
  for (let end = start; end < bundle.length; end++) {
    const c = bundle[end];
    if (quote) {
      if (c === "\\") end++;
      else if (c === quote) {
        quote = null;
        if (open !== "{") return bundle.slice(start, end + 1);
      }
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return bundle.slice(start, end + 1);
  }
  throw new Error("unterminated literal");
}

function evaluate(source) {
  return new Function("return " + source)();
}

// plotly.js's rules: one object whose first key is "X,X div" (X: the plot, Y: the notifier).
const start = bundle.indexOf('{"X,X div":');
if (start < 0) throw new Error("plotly.js's CSS rules not found: has the bundle changed?");
const rules = evaluate(literal(start));
const plotly = [`/* plotly.js ${version}: its injected styles as a file (scripts/plotly_css.js) */`];
for (const [selector, css] of Object.entries(rules)) {
  const full = selector
    .replace(/^,/, " ,")
    .replace(/X/g, ".js-plotly-plot .plotly")
    .replace(/Y/g, ".plotly-notifier");
  plotly.push(`${full}{${css}}`);
}
fs.writeFileSync(path.join(dir, "plotly.css"), plotly.join("\n") + "\n");
console.log("plotly.css: id plotly.js-style-global, class no-inline-styles");

// MapLibre's stylesheet: injected as <style id="<hash>"> unless an element with that id is
// already in the document.
const maps = /e\.id="([0-9a-f]{64})",e\.textContent=/.exec(bundle);
if (!maps) throw new Error("MapLibre's injected stylesheet not found: has the bundle changed?");
const css = evaluate(literal(maps.index + maps[0].length));
const header = `/* MapLibre's styles from plotly.js ${version} (scripts/plotly_css.js) */\n`;
fs.writeFileSync(path.join(dir, "plotly-maps.css"), header + css + "\n");
console.log(`plotly-maps.css: id ${maps[1]}`);

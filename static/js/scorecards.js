/* The scorecard editor: keep what the admin is typing while the form is re-rendered.
 *
 * Every change re-renders the whole draft form (messages at the fields, weight shares).
 * htmx puts the focus back on the field with the same id, but the new field holds the value
 * the server saw when the request left, so keys typed while it was on its way would vanish.
 * Here the focused field's value (and cursor) is carried over the swap; its own change
 * event validates it next.
 */
(function () {
  "use strict";

  var kept = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    kept = null;
    if (!target || target.id !== "draft-form" || !active || !active.id || !target.contains(active)) return;
    if (!/^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return;
    kept = {
      id: active.id,
      value: active.value,
      checked: active.checked,
      start: active.selectionStart,
      end: active.selectionEnd,
    };
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (!kept) return;
    var field = document.getElementById(kept.id);
    var saved = kept;
    kept = null;
    if (!field) return;
    if (field.type === "checkbox" || field.type === "radio") {
      field.checked = saved.checked;
    } else if (field.value !== saved.value) {
      field.value = saved.value;
    }
    try {
      if (saved.start !== null && field.setSelectionRange) field.setSelectionRange(saved.start, saved.end);
    } catch (e) {
      /* number inputs have no selection */
    }
  });
})();

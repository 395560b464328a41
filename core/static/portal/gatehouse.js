// Keep keyboard and screen-reader users oriented after HTMX swaps (no inline scripts: CSP).
(function () {
  "use strict";
  // In order of preference: an explicit target, the first field with an error, a message.
  var PREFERRED = ["[data-focus-after-swap]", "[aria-invalid=true]", ".is-invalid", ".alert", "[role=status]", "h1, h2, h3"];

  function focusInside(root) {
    if (!root || !root.isConnected) { return; }
    var target = null;
    for (var i = 0; i < PREFERRED.length && !target; i++) { target = root.querySelector(PREFERRED[i]); }
    target = target || root;
    if (!target.hasAttribute("tabindex") && !target.matches("a, button, input, select, textarea")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: false });
    target.classList.add("gh-flash");
    window.setTimeout(function () { target.classList.remove("gh-flash"); }, 1300);
  }

  var hadFocus = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    hadFocus = target && (target === document.activeElement || target.contains(document.activeElement)) ? target.id : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // Only move focus when the element the person was using has been replaced and focus fell
    // back to <body>; background refreshes (polling, the inbox badge) must never steal focus.
    var id = hadFocus;
    hadFocus = null;
    if (!id || (document.activeElement && document.activeElement !== document.body)) { return; }
    focusInside(document.getElementById(id) || event.detail.elt);
  });

  // Irreversible actions ask first: <form data-confirm="Give up X? ...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  // "Select every request shown" for a bulk form (<div hidden data-select-all="FORM-ID">):
  // shown only with JavaScript; it ticks the form's checkboxes (rows may live outside the form,
  // joined by form="FORM-ID", and more rows may arrive through htmx) and says how many are ticked.
  function bulkBoxes(formId) {
    return document.querySelectorAll('input[type=checkbox][name=ids][form="' + formId + '"]');
  }

  function bulkRefresh(panel) {
    var boxes = bulkBoxes(panel.getAttribute("data-select-all"));
    var ticked = 0;
    boxes.forEach(function (box) { if (box.checked) { ticked++; } });
    var all = panel.querySelector("input[type=checkbox]");
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
    panel.querySelector("[data-selected-count]").textContent = ticked ? ticked + " of " + boxes.length + " selected" : "";
    panel.hidden = boxes.length === 0;
  }

  function bulkPanels() { return document.querySelectorAll("[data-select-all]"); }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || box.type !== "checkbox") { return; }
    var panel = box.closest("[data-select-all]");
    if (panel) {
      bulkBoxes(panel.getAttribute("data-select-all")).forEach(function (row) { row.checked = box.checked; });
      bulkRefresh(panel);
    } else if (box.name === "ids") {
      bulkPanels().forEach(bulkRefresh);
    }
  });
  document.addEventListener("htmx:load", function () { bulkPanels().forEach(bulkRefresh); });
  document.addEventListener("DOMContentLoaded", function () { bulkPanels().forEach(bulkRefresh); });

  // A request that fails outright (network, 500) should not be silent.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    box.textContent = "Something went wrong (" + event.detail.xhr.status + "). Reload the page and try again.";
    box.classList.remove("d-none");
  });
})();

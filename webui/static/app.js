// IMAP Desk page behaviour. Everything here is an extra: each page works
// without it. Loaded from /static because the CSP allows no inline script.
(function () {
  "use strict";

  // live "n / limit" counters next to limited text fields
  function updateCounter(input, counter) {
    var limit = parseInt(input.getAttribute("data-limit"), 10);
    var length = input.value.length;
    counter.textContent = length.toLocaleString() + " / " + limit.toLocaleString();
    counter.classList.toggle("near", length > limit * 0.9);
  }

  function initCounters() {
    document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var input = document.getElementById(counter.getAttribute("data-counter-for"));
      if (!input || !input.hasAttribute("data-limit")) {
        return;
      }
      // the counter is visual; screen readers already hear the limit
      counter.setAttribute("aria-hidden", "true");
      counter.removeAttribute("aria-live");
      updateCounter(input, counter);
      input.addEventListener("input", function () {
        updateCounter(input, counter);
      });
    });
  }

  // warn before leaving a page whose form holds unsaved changes
  var dirty = false;
  var submitting = false;

  function initGuard() {
    var forms = document.querySelectorAll("form[data-guard]");
    forms.forEach(function (form) {
      if (form.getAttribute("data-dirty") === "true") {
        dirty = true;
      }
      form.addEventListener("input", function () { dirty = true; });
      form.addEventListener("change", function () { dirty = true; });
      form.addEventListener("submit", function () { submitting = true; });
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    // coming back through the history cache, the page is a fresh start
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        submitting = false;
      }
    });
  }

  // Ctrl+S (Cmd+S) presses the page's Save button, Ctrl+Shift+P
  // (Cmd+Shift+P) its Preview messages button
  function shortcutButton(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) {
      return null;
    }
    var key = event.key.toLowerCase();
    if (key === "s") {
      return document.querySelector("form [data-save]");
    }
    if (key === "p" && event.shiftKey) {
      return document.querySelector("form [data-preview]");
    }
    return null;
  }

  function initShortcuts() {
    document.addEventListener("keydown", function (event) {
      var button = shortcutButton(event);
      if (button) {
        event.preventDefault();
        button.form.requestSubmit(button);
      }
    });
  }

  // Add and Remove in the IMAP Servers and Administrators lists post the
  // whole form and the server answers with the page re-rendered, unsaved.
  // With scripts on, only the list is swapped in from that answer, so the
  // rest of the page, its scroll position and focus stay as they are. Any
  // failure falls back to the ordinary round trip.
  var LIST_OP = /^(add|remove)-(server|admin)(-\d+)?$/;

  function swapList(form, button, list) {
    var body = new FormData(form);
    body.set("op", button.value);
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById(list.id);
        if (!fresh) {
          throw new Error("no list in the answer");
        }
        list.replaceWith(fresh);
        dirty = true;
        if (button.value === "add-server") {
          var specific = document.getElementById("server_scope-1");
          if (specific) {
            specific.checked = true;
          }
        }
        var next = fresh.querySelector("[autofocus]");
        if (next) {
          next.focus();
        }
      });
  }

  function initListButtons() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("button[name=op]");
      if (!button || !LIST_OP.test(button.value) || !button.form) {
        return;
      }
      var list = button.closest("[data-list]");
      if (!list || !window.fetch || !window.DOMParser) {
        return;
      }
      event.preventDefault();
      swapList(button.form, button, list).catch(function () {
        submitting = true;
        button.form.requestSubmit(button);
      });
    });
  }

  // move focus to the error summary, so keyboard and screen reader users
  // land on what needs fixing
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary && !document.querySelector("[autofocus]")) {
      summary.focus();
    }
  }

  // a "select all" box ticks or clears every box of the same name in its
  // form; it stays hidden without scripts, where each box is ticked by hand
  function initSelectAll() {
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var name = all.dataset.selectAll;
      var boxes = Array.prototype.filter.call(
        all.form.querySelectorAll('input[type="checkbox"]'),
        function (box) { return box.name === name && !box.disabled; }
      );
      function sync() {
        var ticked = boxes.filter(function (box) { return box.checked; }).length;
        all.checked = ticked > 0 && ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      }
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
      boxes.forEach(function (box) { box.addEventListener("change", sync); });
      sync();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initSelectAll();
    initCounters();
    initGuard();
    initShortcuts();
    initListButtons();
    focusSummary();
  });
})();

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

  // Ctrl+S (Cmd+S) presses the page's Save button
  function initShortcuts() {
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        var button = document.querySelector("form [data-save]");
        if (button) {
          event.preventDefault();
          button.form.requestSubmit(button);
        }
      }
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

  document.addEventListener("DOMContentLoaded", function () {
    initCounters();
    initGuard();
    initShortcuts();
    focusSummary();
  });
})();

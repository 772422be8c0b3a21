// Copy buttons of the Junos configuration page. Without scripts the buttons
// stay hidden and the text can still be selected by hand or downloaded.
(function () {
  "use strict";

  function selectAll(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(id, message) {
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (status) {
      status.textContent = message;
    }
  }

  // no clipboard access (an older engine, or a page not thought secure):
  // select the text so that Ctrl+C copies it
  function fallback(id, element) {
    selectAll(element);
    element.focus();
    say(id, "Selected: press Ctrl+C (Cmd+C) to copy.");
  }

  function copy(button) {
    var id = button.getAttribute("data-copy");
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var text = element.textContent;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () {
        say(id, "Copied.");
      }, function () {
        fallback(id, element);
      });
    } else {
      fallback(id, element);
    }
  }

  function init() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        copy(button);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

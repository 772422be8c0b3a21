// Live progress of a device job: poll its status, redraw, reload when done.
(function () {
  "use strict";

  var section = document.getElementById("job");
  if (!section || section.dataset.running !== "yes") {
    return;
  }
  var url = section.dataset.statusUrl;
  var bar = document.getElementById("job-progress");
  var state = document.getElementById("job-state");
  var cancelForm = document.getElementById("cancel-form");

  function draw(job) {
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    state.textContent = job.cancelling ? "Stopping…" : "Working… " + job.percent + "%";
    job.devices.forEach(function (row) {
      var tr = section.querySelector('tr[data-device="' + CSS.escape(row.name) + '"]');
      if (!tr) {
        return;
      }
      tr.querySelector(".step").textContent = row.step_label;
      tr.querySelector(".status").textContent = row.status_text;
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        draw(job);
        if (job.done) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 700);
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  if (cancelForm) {
    cancelForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData(cancelForm);
      fetch(cancelForm.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function () {
        state.textContent = "Stopping…";
        var button = cancelForm.querySelector("button");
        button.disabled = true;
      });
    });
  }
  poll();
})();

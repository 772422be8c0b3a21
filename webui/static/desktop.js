// Native file dialogs in the desktop window.
//
// In the window, pywebview provides window.pywebview.api (see webui/desktop.py).
// Export links marked data-native-save are fetched here and handed to a native
// Save dialog; import forms marked data-native-open get their file from a
// native Open dialog and are then submitted as usual. In a plain browser
// window.pywebview does not exist and links and forms behave as always.
(function () {
  "use strict";

  function desktopApi(name) {
    var api = window.pywebview && window.pywebview.api;
    return api && typeof api[name] === "function" ? api : null;
  }

  function showStatus(text, isError) {
    var status = document.getElementById("desktop-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "desktop-status";
      status.setAttribute("role", "status");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(status, main.firstChild);
    }
    status.className = isError ? "alert alert-error" : "alert alert-success";
    status.textContent = text;
  }

  function fileNameFrom(response, link) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    if (link.getAttribute("download")) {
      return link.getAttribute("download");
    }
    var path = new URL(link.href, location.href).pathname;
    return path.split("/").pop() || "policy.json";
  }

  async function saveExport(link) {
    var api = desktopApi("save_file");
    var response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) {
      showStatus("The export could not be prepared (" + response.status + ").", true);
      return;
    }
    var text = await response.text();
    var result = await api.save_file(fileNameFrom(response, link), text);
    if (result.error) {
      showStatus(result.error, true);
    } else if (result.path) {
      showStatus("Saved " + result.path + ".", false);
    }
  }

  function base64ToBytes(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  async function openImport(form) {
    var input = form.querySelector("input[type=file]");
    if (input.files && input.files.length > 0) {
      form.submit();
      return;
    }
    var picked = await desktopApi("choose_import_file").choose_import_file();
    if (picked.error) {
      showStatus(picked.error, true);
      return;
    }
    if (!picked.base64) {
      return;
    }
    var transfer = new DataTransfer();
    transfer.items.add(
      new File([base64ToBytes(picked.base64)], picked.name, {
        type: "application/json",
      })
    );
    input.files = transfer.files;
    form.submit();
  }

  function fail(error) {
    showStatus("Something went wrong: " + error, true);
  }

  document.addEventListener(
    "click",
    function (event) {
      if (!(event.target instanceof Element)) {
        return;
      }
      var link = event.target.closest("a[data-native-save]");
      if (link && desktopApi("save_file")) {
        event.preventDefault();
        saveExport(link).catch(fail);
        return;
      }
      // a click on the submit button comes before the browser's own check
      // of a required file field, so the native dialog can still fill it
      var button = event.target.closest("button, input[type=submit]");
      var form = button && button.form;
      if (
        form &&
        form.hasAttribute("data-native-open") &&
        button.type === "submit" &&
        form.querySelector("input[type=file]") &&
        desktopApi("choose_import_file")
      ) {
        event.preventDefault();
        openImport(form).catch(fail);
      }
    },
    true
  );

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (
        form.hasAttribute("data-native-open") &&
        form.querySelector("input[type=file]") &&
        desktopApi("choose_import_file")
      ) {
        event.preventDefault();
        openImport(form).catch(fail);
      }
    },
    true
  );
})();

// Branding page: as the admin types, ask the server for a signed preview of the unsaved values
// and the contrast report, then point both preview frames at it. Nothing is saved. The preview
// speaks the language of the wording typed last. A logo file over the size limit is named at
// once (the server refuses it too); a logo file is sent once, on its own, when chosen, so the
// preview shows it before saving.
(function () {
  "use strict";
  var form = document.getElementById("branding-form");
  if (!form) { return; }
  var frames = [document.getElementById("preview-phone"), document.getElementById("preview-desktop")];
  var list = document.getElementById("contrast-list");
  var timer = null;
  var round = 0;
  var previewLocale = "";

  // Once anything is edited, the preview shows values that are not saved: say so.
  function markUnsaved() {
    ["preview-h", "preview-hint"].forEach(function (id) {
      var element = document.getElementById(id);
      if (element && element.getAttribute("data-unsaved")) {
        element.textContent = element.getAttribute("data-unsaved");
      }
    });
  }

  function update() {
    markUnsaved();
    var mine = ++round;
    var body = new FormData(form);
    body.delete("logo");
    if (previewLocale) { body.set("preview_locale", previewLocale); }
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": body.get("csrf_token") }
    })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (result) {
        if (!result || mine !== round) { return; }  // a newer keystroke already asked again
        frames.forEach(function (frame) { if (frame) { frame.src = result.preview_url; } });
        list.textContent = "";
        result.contrast.forEach(function (row) {
          var item = document.createElement("li");
          item.className = row.ok ? "ok" : (row.blocking ? "bad" : "warn");
          item.textContent = row.text;
          list.appendChild(item);
        });
      })
      .catch(function () { /* the next change tries again */ });
  }

  var logo = document.getElementById("f-logo");
  var logoError = document.getElementById("f-logo-error");
  var logoPreview = document.getElementById("f-logo_preview");
  var logoStatus = document.getElementById("f-logo-status");

  function logoRefused(message) {
    logoError.hidden = !message;
    if (logoStatus) { logoStatus.textContent = ""; }
    if (message) {
      logoError.textContent = message;
      logo.setAttribute("aria-invalid", "true");
      logo.setAttribute("aria-describedby", "f-logo-hint f-logo-error");
    } else {
      logo.removeAttribute("aria-invalid");
    }
  }

  // A chosen logo file is checked by the server as on saving and kept unsaved, so the
  // preview shows it before saving (the preview's token names it).
  function previewLogo(file) {
    var body = new FormData();
    body.set("csrf_token", form.querySelector("[name=csrf_token]").value);
    body.set("logo", file);
    return fetch(form.getAttribute("data-logo-preview-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": body.get("csrf_token") }
    })
      .then(function (answer) { return answer.json(); })
      .then(function (result) {
        if (result.logo_preview) {
          logoPreview.value = result.logo_preview;
          logoRefused("");
          if (logoStatus) { logoStatus.textContent = logoStatus.getAttribute("data-shown"); }
        } else {
          logoPreview.value = "";
          logoRefused(result.error || "");
        }
      })
      .catch(function () { logoPreview.value = ""; });
  }

  if (logo && logoError) {
    logo.addEventListener("change", function (event) {
      event.stopPropagation();  // the preview is asked again once the server has the file
      var file = logo.files && logo.files[0];
      logoPreview.value = "";
      if (!file) { logoRefused(""); update(); return; }
      if (file.size > Number(form.getAttribute("data-logo-max"))) {
        logoRefused(form.getAttribute("data-logo-too-big"));
        update();
        return;
      }
      previewLogo(file).then(update);
    });
  }

  form.addEventListener("input", function (event) {
    var language = event.target.getAttribute && event.target.getAttribute("data-preview-locale");
    if (language) { previewLocale = language; }
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  });
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 50);
  });
})();

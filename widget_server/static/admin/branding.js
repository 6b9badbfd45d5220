// Branding page: as the admin types, ask the server for a signed preview of the unsaved values
// and the contrast report, then point both preview frames at it. Nothing is saved. The preview
// speaks the language of the wording typed last. A logo file over the size limit is named at
// once (the server refuses it too); the file itself is never sent for a preview.
(function () {
  "use strict";
  var form = document.getElementById("branding-form");
  if (!form) { return; }
  var frames = [document.getElementById("preview-phone"), document.getElementById("preview-desktop")];
  var list = document.getElementById("contrast-list");
  var timer = null;
  var round = 0;
  var previewLocale = "";

  function update() {
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
  if (logo && logoError) {
    logo.addEventListener("change", function () {
      var file = logo.files && logo.files[0];
      var tooBig = file && file.size > Number(form.getAttribute("data-logo-max"));
      logoError.hidden = !tooBig;
      if (tooBig) {
        logoError.textContent = form.getAttribute("data-logo-too-big");
        logo.setAttribute("aria-invalid", "true");
        logo.setAttribute("aria-describedby", "f-logo-hint f-logo-error");
      } else {
        logo.removeAttribute("aria-invalid");
      }
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

// Branding page: as the admin types, ask the server for a signed preview of the unsaved values
// and the contrast report, then point both preview frames at it. Nothing is saved.
(function () {
  "use strict";
  var form = document.getElementById("branding-form");
  if (!form) { return; }
  var frames = [document.getElementById("preview-phone"), document.getElementById("preview-desktop")];
  var list = document.getElementById("contrast-list");
  var timer = null;
  var round = 0;

  function update() {
    var mine = ++round;
    var body = new FormData(form);
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

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  });
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 50);
  });
})();

// Embed code page: the server turns the choices into one configuration, and from it both the
// snippet and the preview address, so what is copied is what is previewed.
(function () {
  "use strict";
  var form = document.getElementById("embed-form");
  if (!form) { return; }
  var snippet = document.getElementById("snippet");
  var preview = document.getElementById("embed-preview");
  var copy = document.getElementById("copy");
  var status = document.getElementById("copy-status");

  // Answers can arrive out of order when choices change quickly: only the newest one counts,
  // or the snippet could show an older choice than the form.
  var latest = 0;

  function refresh() {
    var mine = ++latest;
    var query = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("data-json-url") + "&" + query, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (result) {
        if (!result || mine !== latest) { return; }
        snippet.textContent = result.snippet;
        preview.src = result.preview_url;
        status.textContent = "";
      })
      .catch(function () {});
  }
  form.addEventListener("change", refresh);
  form.addEventListener("submit", function (event) { event.preventDefault(); refresh(); });

  if (navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(snippet.textContent).then(function () {
        status.textContent = copy.getAttribute("data-copied");
      });
    });
  }
})();

// The console's small enhancements; every page works without them.
(function () {
  "use strict";

  // Live trip numbers: refresh the seats and status shown for each [data-trip] every 10 s.
  var rows = document.querySelectorAll("[data-trip]");
  if (rows.length) {
    var refresh = function () {
      fetch("/admin/trips/progress", { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : {}; })
        .then(function (trips) {
          rows.forEach(function (row) {
            var trip = trips[row.getAttribute("data-trip")];
            if (!trip) { return; }
            row.querySelectorAll("[data-field]").forEach(function (cell) {
              var name = cell.getAttribute("data-field");
              if (name === "status") {
                cell.textContent = trip.status_label;
                cell.className = "status status-" + trip.status;
              } else if (name === "progress") {
                cell.value = Math.min(trip.seats_pledged, trip.min_riders);
              } else if (name in trip) {
                cell.textContent = trip[name];
              }
            });
          });
        })
        .catch(function () { /* offline for a moment: the next round tries again */ });
    };
    window.setInterval(refresh, 10000);
  }

  // Trip form: spare stop fieldsets stay hidden behind an "Add a stop" button.
  var stops = document.getElementById("stops");
  if (stops) {
    var spares = stops.querySelectorAll("fieldset[data-spare]");
    if (spares.length) {
      spares.forEach(function (fieldset) { fieldset.hidden = true; });
      var add = document.createElement("button");
      add.type = "button";
      add.textContent = stops.getAttribute("data-add-label") || "Add a stop";
      add.addEventListener("click", function () {
        var next = stops.querySelector("fieldset[data-spare][hidden]");
        if (next) {
          next.hidden = false;
          next.querySelector("input").focus();
        }
        if (!stops.querySelector("fieldset[data-spare][hidden]")) { add.remove(); }
      });
      stops.appendChild(add);
    }
  }
})();

// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
(function () {
  "use strict";
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = button.parentNode.querySelector("[data-copy-status]");
      var text = source.tagName === "INPUT" ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(function () {
        if (status) { status.textContent = button.getAttribute("data-copied"); }
      });
    });
  });
})();

// The Settings page's one script: follows the report days' rebuild after a change of time zone.
(function () {
  "use strict";
  var box = document.querySelector("[data-rebuild]");
  if (!box) return;
  var url = box.getAttribute("data-rebuild");
  var text = box.querySelector("[data-rebuild-text]");
  var words = function (s) {
    if (s.state === "done") return "Done: " + s.calls_done + " calls are counted on " + s.timezone + " days.";
    if (s.phase === "check") return s.calls_done + " calls moved to " + s.timezone + " days; checking the calls that came in meanwhile.";
    return "Moving calls to " + s.timezone + " days: " + s.calls_done + " so far.";
  };
  var poll = function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        text.textContent = words(s);
        box.setAttribute("data-state", s.state);
        if (s.state === "running") window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  if (box.getAttribute("data-state") === "running") window.setTimeout(poll, 2000);
})();

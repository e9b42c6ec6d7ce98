// The call log: the filters are folded behind one button on a phone and open on a wide screen.
(function () {
  "use strict";
  function start() {
    var fold = document.getElementById("filters-fold");
    if (fold && window.matchMedia("(min-width: 641px)").matches) fold.open = true;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

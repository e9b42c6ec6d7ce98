// A call's story page: plays the recording through the recording player (player.js), which asks
// GET /dashboard/calls/{sid}/recording (the session's cookie, never an API key) for a presigned
// URL and asks again when one expires mid-listen. Nothing is fetched until the page has loaded.
(function () {
  "use strict";

  function start() {
    var audio = document.getElementById("player");
    var status = document.getElementById("player-status");
    if (!audio || typeof RecordingPlayer === "undefined") return;
    var player = RecordingPlayer.attach(audio, audio.getAttribute("data-link"));
    window.callPlayer = player; // for the browser test: refreshes, position
    // The transcript's turns: each plays the recording from where it was said.
    var turns = document.querySelectorAll(".turn-seek");
    Array.prototype.forEach.call(turns, function (button) {
      button.addEventListener("click", function () {
        var at = parseFloat(button.getAttribute("data-start")) || 0;
        player.ready.then(function () {
          audio.currentTime = at;
          audio.play().catch(function () {});
        });
      });
    });
    player.ready.catch(function () {
      if (status) status.textContent = "The recording cannot be played just now; reload the page to try again.";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

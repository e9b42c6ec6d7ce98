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
    player.ready.catch(function () {
      if (status) status.textContent = "The recording cannot be played just now; reload the page to try again.";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

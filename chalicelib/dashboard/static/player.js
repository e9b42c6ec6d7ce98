// The recording player: plays a call's recording from short-lived presigned S3 URLs.
//
// A presigned URL works for a few minutes (RECORDING_URL_SECONDS). A long or paused recording
// outlives it: the next range request the browser makes is refused (403 from S3) and the
// <audio> element reports a network error. The player then asks for a fresh URL, sets it, seeks
// back to where the listener was and, if it was playing, plays on. S3 answers range requests
// itself, so seeking works without the API in the way.
//
//   const player = RecordingPlayer.attach(audioElement, "/v1/calls/CA.../recording");
//   const player = RecordingPlayer.attach(audioElement, async () => freshPresignedUrl());
//
// Given an API link, the player GETs it with the page's cookies (the dashboard's session) and
// uses the answer's `url`. The page never sees an API key.
(function (global) {
  "use strict";

  var MAX_REFRESHES_IN_A_ROW = 3; // a URL refused right after it was issued is not an expiry

  function fromApiLink(link) {
    return function () {
      return fetch(link, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) {
          if (!answer.ok) throw new Error("recording link answered HTTP " + answer.status);
          return answer.json();
        })
        .then(function (body) {
          return body.url;
        });
    };
  }

  function attach(audio, source) {
    var freshUrl = typeof source === "function" ? source : fromApiLink(source);
    var state = { position: 0, playing: false, refreshes: 0, inARow: 0, refreshing: false };

    function load(resumeAt, play) {
      return Promise.resolve(freshUrl()).then(function (url) {
        if (resumeAt > 0) {
          audio.addEventListener(
            "loadedmetadata",
            function () {
              audio.currentTime = Math.min(resumeAt, audio.duration || resumeAt);
              if (play) audio.play().catch(function () {});
            },
            { once: true }
          );
        }
        audio.src = url;
        audio.load();
      });
    }

    // Where the listener is, kept outside the element: after a network error it may read 0.
    audio.addEventListener("timeupdate", function () {
      if (!state.refreshing && audio.currentTime > 0) state.position = audio.currentTime;
      if (!audio.paused && audio.currentTime > state.position - 1) state.inARow = 0;
    });
    audio.addEventListener("seeking", function () {
      if (!state.refreshing) state.position = audio.currentTime; // where the listener wants to be
    });
    audio.addEventListener("play", function () {
      state.playing = true;
    });
    audio.addEventListener("pause", function () {
      if (!state.refreshing && !audio.error) state.playing = false;
    });
    audio.addEventListener("error", function () {
      if (state.refreshing || state.inARow >= MAX_REFRESHES_IN_A_ROW) return;
      state.refreshing = true;
      state.inARow += 1;
      state.refreshes += 1;
      // Before the metadata arrived, a seek is only the element's default start position.
      var at = Math.max(state.position, audio.currentTime || 0);
      load(at, state.playing)
        .catch(function () {})
        .then(function () {
          audio.addEventListener(
            "seeked",
            function () {
              state.refreshing = false;
            },
            { once: true }
          );
          if (!(at > 0)) state.refreshing = false;
        });
    });

    var ready = load(0, false);
    return {
      ready: ready,
      get refreshes() {
        return state.refreshes;
      },
      get position() {
        return state.position;
      },
    };
  }

  global.RecordingPlayer = { attach: attach };
})(typeof window !== "undefined" ? window : this);

// The setup pages' one script: the copy button of a pool's script tag. Everything else is plain forms.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var box = document.getElementById(id);
    var said = document.querySelector('[data-copied="' + id + '"]');
    if (!box) return;
    button.addEventListener("click", function () {
      var text = box.value || box.textContent;
      var done = function () { if (said) said.textContent = "Copied. Paste it into your site."; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { box.select(); document.execCommand("copy"); done(); });
      } else {
        box.select();
        document.execCommand("copy");
        done();
      }
    });
  });
})();

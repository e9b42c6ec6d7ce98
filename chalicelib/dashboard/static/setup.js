// The setup pages' one script: the copy button of a pool's script tag, a recorded greeting read
// into its form's hidden field as base64 (the form posts urlencoded, as every form), and a menu
// option's ring-group fields shown only while the option does not go to voicemail. Everything else is plain forms.
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
  document.querySelectorAll("[data-menu-ring]").forEach(function (group) {
    var to = document.getElementById(group.getAttribute("data-menu-ring"));
    if (!to) return;
    var follow = function () { group.hidden = to.value.trim().toLowerCase() === "voicemail"; };
    to.addEventListener("input", follow);
  });
  document.querySelectorAll("input[type=file][data-greeting]").forEach(function (input) {
    var hidden = document.getElementById(input.getAttribute("data-greeting"));
    if (!hidden) return;
    input.addEventListener("change", function () {
      hidden.value = "";
      var file = input.files && input.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () { hidden.value = String(reader.result).split(",").pop(); };
      reader.readAsDataURL(file);
    });
  });
})();

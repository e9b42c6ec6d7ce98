/* The setup pages' one script (alerts, webhooks, spend, blocked callers, users): a destructive
   button asks first (data-confirm says what it does), the alert form shows only the fields of
   the chosen channel, a chosen CSV file's text goes into the upload's text box, and a secret
   has a copy button. Every page works without it: the forms are plain posts. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  var radios = document.querySelectorAll('input[name="channel"]');
  var hidden = document.querySelector('input[type="hidden"][name="channel"]');
  function chosen() {
    if (hidden) return hidden.value;
    for (var i = 0; i < radios.length; i++) if (radios[i].checked) return radios[i].value;
    return "";
  }
  function show() {
    var channel = chosen();
    var groups = document.querySelectorAll(".channel-fields");
    for (var i = 0; i < groups.length; i++) groups[i].hidden = groups[i].getAttribute("data-for") !== channel;
  }
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", show);
  if (radios.length || hidden) show();

  var files = document.querySelectorAll("input[type=file][data-into]");
  for (var k = 0; k < files.length; k++) {
    files[k].addEventListener("change", function (event) {
      var input = event.currentTarget;
      var target = document.getElementById(input.getAttribute("data-into"));
      var file = input.files && input.files[0];
      if (!target || !file) return;
      var reader = new FileReader();
      reader.onload = function () { target.value = String(reader.result).replace(/^\ufeff/, ""); };
      reader.readAsText(file);
    });
  }

  var copy = document.querySelectorAll("[data-copy]");
  for (var j = 0; j < copy.length; j++) {
    copy[j].hidden = false;
    copy[j].addEventListener("click", function (event) {
      var button = event.currentTarget;
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  }
})();

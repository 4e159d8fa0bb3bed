// Copy buttons: <button data-copy="ID"> copies the value of the element with
// that ID. The buttons are hidden in the page and shown here, so without
// scripts (or clipboard access) the user selects the text instead.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var target = document.getElementById(btn.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!target) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var say = function (msg) { if (status) status.textContent = msg; };
      var fallback = function () {
        target.focus();
        target.select();
        say("Selected: press Ctrl+C (or Cmd+C) to copy.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(function () {
          btn.textContent = "Copied";
          say("The secret was copied to the clipboard.");
        }, fallback);
      } else {
        fallback();
      }
    });
  });
});

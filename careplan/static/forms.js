// One tap sends a form once. On a slow phone a second tap, while the first is still on its
// way, sent the form again: a comment twice, or a signature that went through answered as
// "You have already signed". The server keeps such things once whatever happens; this spares
// the person the second answer. Only forms that change something (POST); a form whose answer
// never comes (a download, a lost connection) can be sent again after a while.
(function () {
  "use strict";
  var HOLD_MS = 8000;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // Another script held this one back (a question first): it was not sent.
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    var sentAt = Number(form.dataset.sentAt || 0);
    if (sentAt && Date.now() - sentAt < HOLD_MS) {
      event.preventDefault();
      return;
    }
    form.dataset.sentAt = String(Date.now());
  });

  // A button that says what it will do once a choice is made ("Sign version 3", "Decline to
  // sign, and send my reason"): its labels by the chosen value of the group it names.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.form || input.type !== "radio") return;
    Array.prototype.forEach.call(input.form.querySelectorAll("button[data-label-by]"), function (button) {
      if (button.dataset.labelBy !== input.name) return;
      var label = JSON.parse(button.dataset.labels || "{}")[input.value];
      if (label) button.textContent = label;
    });
  });

  // Back to a page the browser kept: its forms were not sent from this visit.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sent-at]"), function (form) {
      delete form.dataset.sentAt;
    });
  });
})();

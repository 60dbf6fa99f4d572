// The page waiting for a signed PDF asks in the background whether it is made, and moves
// only when there is something new to show (the PDF, or that it could not be made). Reloading
// every few seconds, as the page does without scripts, took away the place of whoever was
// moving through it with a keyboard or a screen reader.
(function () {
  "use strict";
  var waiting = document.getElementById("pdf-preparing");
  if (!waiting || !window.fetch) return;
  var url = waiting.dataset.stateUrl;
  var longNote = document.getElementById("taking-long");

  function check() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (state) {
        if (state.status === "ready") {
          // The download starts and this page stays: it says so, rather than "being
          // prepared" for ever, and offers the file again.
          document.getElementById("pdf-heading").textContent = "Your PDF is ready";
          document.title = "Your PDF is ready · careplan";
          waiting.textContent = "Your PDF is ready. It is downloading now.";
          var again = document.getElementById("check-again");
          if (again) { again.textContent = "Download it again"; }
          if (longNote) { longNote.hidden = true; }
          window.location.assign(waiting.dataset.pdfUrl);
          return;
        }
        if (state.status !== "pending" && state.status !== "rendering") {
          window.location.reload();  // it could not be made: the page says so, and offers a retry
          return;
        }
        if (state.taking_long && longNote) { longNote.hidden = false; }
        setTimeout(check, 3000);
      })
      .catch(function () { setTimeout(check, 10000); });  // signed out, or the server busy
  }
  setTimeout(check, 3000);
})();

// A warning before the idle sign-out, with a button to stay signed in. The server signs people
// out after the idle time whatever this script does; this only makes sure it is no surprise.
(function () {
  "use strict";
  var body = document.body;
  var limit = Number(body.dataset.idleSeconds || 0);
  var keepAliveUrl = body.dataset.keepAliveUrl;
  var signInUrl = body.dataset.signInUrl;
  if (!limit || !keepAliveUrl || !signInUrl || !window.fetch) return;
  var warnBefore = Math.min(120, Math.floor(limit / 3));
  // The server notes activity every few seconds, not on every request, and says how long is
  // left on each page and each answer to this page's scripts: count down from that.
  var left = Number(body.dataset.idleSecondsLeft || limit);
  var warnTimer, outTimer, tick, outAt, panel, returnTo;

  function csrf() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function form() { return document.querySelector("form.document-form"); }

  function hide() {
    clearInterval(tick);
    if (!panel || panel.hidden) return;
    var focused = panel.contains(document.activeElement);
    panel.hidden = true;
    body.style.paddingBottom = "";
    // Back to where the person was (a box they were typing in), not the top of the page.
    if (focused && returnTo && document.contains(returnTo)) { returnTo.focus(); }
  }

  // Nothing on the page can be typed in while a kept draft waits to be chosen (edit.html):
  // there is nothing to keep, so the warning says nothing about drafts.
  function locked() { return !!form().querySelector("fieldset.until-chosen[disabled]"); }

  function show() {
    if (!panel) {
      panel = document.createElement("div");
      panel.className = "idle-warning warning";
      panel.setAttribute("role", "alertdialog");
      panel.setAttribute("aria-labelledby", "idle-warning-text");
      panel.innerHTML = '<p id="idle-warning-text"></p>';
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Stay signed in";
      button.addEventListener("click", stay);
      panel.appendChild(button);
      body.insertBefore(panel, body.firstChild);
    }
    say();
    if (panel.hidden !== false || !panel.contains(document.activeElement)) {
      returnTo = document.activeElement;
    }
    panel.hidden = false;
    // Fixed at the foot of the screen (app.css), and focused without scrolling: the page stays
    // where the person was, a box they were typing in far down a long page included. Room
    // below the page's end as tall as the warning, so nothing there is hidden under it.
    body.style.paddingBottom = panel.offsetHeight + 16 + "px";
    panel.querySelector("button").focus({ preventScroll: true });
    // The time left counts down as it goes, not the time it was when the warning came.
    clearInterval(tick);
    tick = setInterval(say, 1000);
  }

  function say() {
    var seconds = Math.max(0, Math.round((outAt - Date.now()) / 1000));
    panel.querySelector("p").textContent =
      "For your privacy you will be signed out in " + inWords(seconds) +
      " because nothing has happened for a while." +
      (form() && !locked() ? (form().dataset.notKept
        ? " What you typed on this page is not kept as a draft: save it as a version now, or it will be lost."
        : " Your changes are kept as a draft.")
        : typedHere() ? " What you typed on this page is not sent yet: send it now, or copy it, or it will be lost." : "");
  }

  // "2 minutes", "1 minute", "40 seconds" (a short idle time warns less than a minute ahead).
  function inWords(seconds) {
    if (seconds < 60) return seconds + " second" + (seconds === 1 ? "" : "s");
    var minutes = Math.round(seconds / 60);
    return minutes + " minute" + (minutes === 1 ? "" : "s");
  }

  // Words typed into a form that keeps no draft (a reason, a comment): lost at sign-out.
  function typedHere() {
    return Array.prototype.some.call(
      document.querySelectorAll("textarea, input[type=text]"),
      function (box) { return box.value !== box.defaultValue; }
    );
  }

  function signedOut() {
    // Take the page off the screen: someone else may pick the phone up.
    // The sign-in page's address comes from the page: under a sub-path it is not /login.
    body.dataset.signingOut = "true";  // words not kept do not hold the page (editing.js)
    window.location.assign(signInUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function start(secondsLeft) {
    if (secondsLeft) { left = secondsLeft; }
    clearTimeout(warnTimer);
    clearTimeout(outTimer);
    warnTimer = setTimeout(show, Math.max(0, left - warnBefore) * 1000);
    outAt = Date.now() + left * 1000;
    outTimer = setTimeout(signedOut, left * 1000 + 1000);
  }

  function leftIn(response) {
    return Number(response.headers.get("Idle-Seconds-Left")) || limit;
  }

  function stay() {
    var data = new FormData();
    data.append("csrf_token", csrf());
    fetch(keepAliveUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok && !response.redirected) { hide(); start(leftIn(response)); } else { signedOut(); }
      })
      .catch(function () {});
  }

  document.addEventListener("careplan:activity", function (event) {
    hide();
    start(Number(event.detail) || limit);
  });
  // Typing is being here. A reason for declining, a comment or a request for help goes
  // nowhere until sent, so the server counted the minutes spent writing it as idle and the
  // sign-out took the words. Said to the server as typing goes on, at most every quarter of
  // the idle time (a minute at most). The edit page's drafts say it already (editing.js).
  var touched = 0;
  document.addEventListener("input", function (event) {
    var drafts = form();
    if (drafts && drafts.contains(event.target)) return;
    if (Date.now() - touched < Math.min(60, limit / 4) * 1000) return;
    touched = Date.now();
    var data = new FormData();
    data.append("csrf_token", csrf());
    fetch(keepAliveUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok && !response.redirected) { hide(); start(leftIn(response)); }
      })
      .catch(function () {});
  });
  start();
})();

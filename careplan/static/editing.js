// The edit page, when scripts run: keeps a draft as you type, so nothing is lost if the page
// is closed, the phone dies or you are signed out; and points out wording as you write.
// Without scripts the page still works: "Check my wording first" does the same on the server.
(function () {
  "use strict";
  var form = document.querySelector("form.document-form");
  if (!form || !window.fetch || !window.FormData) return;
  var status = form.querySelector(".draft-status");
  var draftTimer = null;
  var submitting = false;
  var lastSent = null;
  // Which draft this page last kept or started from: a draft kept since on another tab or
  // device is not replaced (the server answers 409), and this page stops keeping drafts.
  var revision = form.elements.namedItem("draft_revision");
  var keptElsewhere = false;
  // Words on this page that no draft holds: kept elsewhere since, or the last keep failed.
  var unkept = false;

  function say(text) { if (status && !keptElsewhere) status.textContent = text; }

  // The version these words were typed on, kept with this page's place in the browser's
  // history. Going back to the page (or reloading it) after someone saved a newer version,
  // the browser puts back what was typed, on top of the newer version: sent as typed on that
  // one, a save would quietly undo the other person's change. Sent as typed on the version
  // they were typed on, it is shown beside theirs first, as from a second tab.
  var base = form.elements.namedItem("base_number");
  var baseKept = false;
  function keepBase() {
    if (baseKept || !base) return;
    baseKept = true;
    try {
      history.replaceState(Object.assign({}, history.state, { typedOn: base.value }), "");
    } catch (e) { /* a browser that keeps no state: as before */ }
  }

  // What the browser lets outlive its page (keepalive): 64 KiB for everything in flight.
  var OUTLIVES_THE_PAGE = 60000;

  function keepDraft(leaving) {
    draftTimer = null;
    // Once the form is being saved there is nothing to keep: a draft sent now (the page
    // hidden as the browser leaves it) could land after the save and outlive it.
    if (submitting || keptElsewhere) return;
    var data = new FormData(form);
    data.delete("action");
    var body = new URLSearchParams(data).toString();
    // The words, whichever draft they were kept as: the same words are not sent again.
    data.delete("draft_revision");
    var words = new URLSearchParams(data).toString();
    if (words === lastSent) return;
    fetch(form.dataset.draftUrl, {
      method: "POST",
      body: body,  // as the form itself would send it; its length is what is sent
      credentials: "same-origin",
      headers: {
        "X-Requested-With": "fetch",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
      },
      // Leaving the page (a link followed, the tab closed) would otherwise cancel a draft
      // still on its way: on a slow connection, the last words typed were lost.
      keepalive: leaving === true && body.length < OUTLIVES_THE_PAGE,
    }).then(function (response) {
      unkept = !response.ok || response.redirected;
      if (response.redirected || response.status === 401) {
        say("You have been signed out, so your latest changes could not be kept. Copy anything important before you sign in again.");
      } else if (response.status === 409) {
        activity(response);
        return response.json().catch(function () { return {}; }).then(changedElsewhere);
      } else if (response.ok) {
        activity(response);
        return response.json().then(function (kept) {
          lastSent = words;
          if (kept.changes === false) {
            // The words are the version's own: no draft is kept, and none is needed.
            if (revision) revision.value = "";
            say("Nothing is changed yet, so there is nothing to keep as a draft.");
            return;
          }
          if (revision && kept.revision) revision.value = kept.revision;
          // The time as the server says it: every page's times are on the service's clock.
          var at = kept.kept_said ? " (" + kept.kept_said + ")" : "";
          say("Your changes are kept as a draft" + at + ". They become a version when you save.");
        });
      } else {
        say("Your latest changes could not be kept as a draft just now. They are still on this page.");
      }
    }).catch(function () {
      unkept = true;
      say("No connection: your latest changes are still on this page, but not kept yet.");
    });
  }

  function activity(response) {
    document.dispatchEvent(new CustomEvent("careplan:activity", {
      detail: response.headers.get("Idle-Seconds-Left"),
    }));
  }

  // The draft was kept since on another tab or device, with other words. Replacing it would
  // lose them; not keeping these must not go unsaid. The words here stay on the page.
  function changedElsewhere(answer) {
    keptElsewhere = true;
    clearTimeout(draftTimer);
    draftTimer = null;
    form.dataset.notKept = "true";  // the idle warning says so too (idle.js)
    if (!status) return;
    status.textContent = (answer.message ||
      "You have changed this document in another tab or on another device since. What you " +
      "type here is not being kept as a draft: save it as a version, or open the latest draft.") + " ";
    status.classList.replace("meta", "warning");
    if (answer.latest) {
      var link = document.createElement("a");
      link.href = answer.latest;
      link.target = "_blank";  // this page, and its words, stay open
      link.rel = "noopener";
      link.textContent = "Open the latest draft (in a new tab)";
      status.appendChild(link);
    }
  }

  var checkTimers = new WeakMap();

  function suggestionsBox(field) {
    var id = field.id + "-wording";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.className = "wording-hint";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", box);
    }
    return box;
  }

  function checkWording(field) {
    var data = new FormData();
    data.append("text", field.value);
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    fetch(form.dataset.languageUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.ok && !response.redirected ? response.json() : { findings: [] };
      })
      .then(function (result) {
        var box = suggestionsBox(field);
        box.textContent = "";
        result.findings.forEach(function (f) {
          var p = document.createElement("p");
          // To the client, of their own words: the choice is said to be theirs, once.
          p.textContent = form.dataset.ownWords === "yes"
            ? "“" + f.found + "”: some people prefer other words, such as " + f.could_write + "."
            : "“" + f.found + "” can feel stigmatising to some people. You could write " +
              f.could_write + "." + (f.note ? " " + f.note : "");
          box.appendChild(p);
        });
        if (form.dataset.ownWords === "yes" && result.findings.length) {
          var yours = document.createElement("p");
          yours.textContent = "These are your words: keep them if they are right for you.";
          box.appendChild(yours);
        }
      })
      .catch(function () {});
  }

  form.addEventListener("input", function (event) {
    keepBase();
    clearTimeout(draftTimer);
    draftTimer = setTimeout(keepDraft, 3000);
    var field = event.target;
    if (field.matches("textarea, input[type=text]") && field.id) {
      clearTimeout(checkTimers.get(field));
      checkTimers.set(field, setTimeout(function () { checkWording(field); }, 800));
    }
  });
  // On a slow connection this script can arrive after typing has begun: what was typed before
  // it ran is kept and checked as if typed now.
  function changedSinceLoad(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.options && !el.multiple) {
      // With no option marked, the browser starts on the first: that is not a choice made.
      var start = 0;
      Array.prototype.forEach.call(el.options, function (o, i) { if (o.defaultSelected) start = i; });
      return el.options.length > 0 && el.selectedIndex !== start;
    }
    if (el.options) {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return "defaultValue" in el && el.type !== "hidden" && el.value !== el.defaultValue;
  }
  function takeUpChanged() {
    var changed = Array.prototype.filter.call(form.elements, changedSinceLoad);
    // Put back by the browser (it does so once the page has loaded, before "pageshow"):
    // typed on the version this place in the history remembers. If this page had sent them
    // (gone back to after saving), the server takes its own save as their version, so only
    // what is changed now counts as a change.
    var typedOn = history.state && history.state.typedOn;
    if (changed.length && base && typedOn && typedOn !== base.value) {
      base.value = typedOn;
      if (history.state.sent && !form.elements.namedItem("sent_before")) {
        var sent = document.createElement("input");
        sent.type = "hidden";
        sent.name = "sent_before";
        sent.value = "yes";
        form.appendChild(sent);
      }
    }
    changed.forEach(function (field) {
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  takeUpChanged();
  window.addEventListener("pageshow", takeUpChanged);
  // The page that answers a save refused, a wording check or a newer version saved first
  // shows the words as sent: those typed in the seconds before sending were in no draft yet
  // (sending stops the one on its way). Kept now, and guarded until they are.
  if (form.dataset.givenBack === "yes") {
    unkept = true;
    keepDraft();
  }
  // Leaving the page (or the phone locking it) keeps what was typed since the last draft.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && draftTimer) {
      clearTimeout(draftTimer);
      keepDraft(true);
    }
  });
  // Closing the tab or following a link with words no draft holds asks first (the browser's
  // own "Leave site?"). Not as the idle sign-out takes the page off the screen (idle.js):
  // someone else may pick the phone up.
  window.addEventListener("beforeunload", function (event) {
    if (!unkept || submitting || document.body.dataset.signingOut) return;
    event.preventDefault();
    event.returnValue = "";
  });
  form.addEventListener("submit", function () {
    try {
      history.replaceState(
        Object.assign({}, history.state, { typedOn: base ? base.value : "", sent: true }), ""
      );
    } catch (e) { /* as before */ }
    submitting = true;
    clearTimeout(draftTimer);
    draftTimer = null;
  });
})();

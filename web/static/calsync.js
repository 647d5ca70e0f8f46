/* K-1: the Google Calendar sync panel of the calendar page: state, connect (Google's
   consent screen), disconnect (remove or leave our events), the ICS feed address. */
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("sync-i18n").textContent);
  function $(id) { return document.getElementById(id); }
  var api = window.kontakt.api;  // app.js
  function fail(err) { $("sync-error").textContent = err.message; $("sync-error").hidden = false; }
  function show(s) {
    $("sync-error").hidden = true;
    var text;
    if (!s.available && !s.connected) text = T.off;
    else if (!s.connected) text = T.none;
    else {
      text = T.on.replace("{account}", s.account || "—").replace("{calendar}", s.calendar || "—")
        .replace("{events}", s.events).replace("{pending}", s.pending);
      if (s.state === "paused") text += "\n" + T.paused;
    }
    $("sync-state").textContent = text;
    $("sync-state").style.whiteSpace = "pre-line";
    $("sync-connect").hidden = !s.available || (s.connected && s.state !== "paused");
    $("sync-disconnect").hidden = $("sync-remove").hidden = !s.connected;
    $("sync-feed").value = s.feed_url || "";
    $("sync-feed").placeholder = T.nofeed;
    $("sync-feed-off").hidden = !s.feed_url;
  }
  function load() { return api("GET", "/api/v1/calendar-sync").then(show).catch(fail); }
  function start() {
    $("sync-connect").addEventListener("click", function () {
      api("POST", "/api/v1/calendar-sync/connect").then(function (r) {
        window.location.href = r.url;
      }).catch(fail);
    });
    $("sync-disconnect").addEventListener("click", function () {
      api("POST", "/api/v1/calendar-sync/disconnect",
          {remove_events: $("sync-remove").value === "1"}).then(show).catch(fail);
    });
    $("sync-feed-new").addEventListener("click", function () {
      api("POST", "/api/v1/calendar-sync/feed?renew=1").then(load).catch(fail);
    });
    $("sync-feed-off").addEventListener("click", function () {
      api("DELETE", "/api/v1/calendar-sync/feed").then(load).catch(fail);
    });
    load();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

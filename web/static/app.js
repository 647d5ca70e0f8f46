// Kontakt Mini App shell: Telegram theme, initData sign-in, list filter.
(function () {
  "use strict";
  function hashParams() {
    var h = window.location.hash.replace(/^#/, "");
    var out = {};
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("=");
      var k = i < 0 ? kv : kv.slice(0, i);
      var v = i < 0 ? "" : kv.slice(i + 1);
      try { out[decodeURIComponent(k)] = decodeURIComponent(v); } catch (e) { /* ignore */ }
    });
    return out;
  }
  function webApp() { return window.Telegram && window.Telegram.WebApp; }
  function initData() {
    var wa = webApp();
    if (wa && wa.initData) return wa.initData;
    return hashParams().tgWebAppData || "";
  }
  function applyTheme() {
    var wa = webApp();
    var theme = wa && wa.themeParams && Object.keys(wa.themeParams).length ? wa.themeParams : null;
    if (!theme) {
      var raw = hashParams().tgWebAppThemeParams;
      if (raw) { try { theme = JSON.parse(raw); } catch (e) { theme = null; } }
    }
    if (!theme) return;
    var root = document.documentElement;
    root.classList.add("tg-theme");
    Object.keys(theme).forEach(function (k) {
      root.style.setProperty("--tg-theme-" + k.replace(/_/g, "-"), theme[k]);
    });
  }
  function ready() {
    var wa = webApp();
    if (wa) { try { wa.ready(); wa.expand(); } catch (e) { /* not in Telegram */ } }
    applyTheme();
  }
  window.kontakt = {
    signIn: function (texts) {
      var data = initData();
      var status = document.getElementById("signin-status");
      var hint = document.getElementById("signin-hint");
      if (!data) { status.textContent = ""; hint.hidden = false; return; }
      fetch("/api/v1/auth/webapp", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({init_data: data})
      }).then(function (r) {
        // stay on the page that was asked for (a client card from the bot, say)
        if (r.ok) { window.location.replace(window.location.pathname + window.location.search); return; }
        return r.json().then(function (j) {
          status.textContent = texts.refused + " " + (typeof j.detail === "string" ? j.detail : "");
          hint.hidden = false;
        });
      }).catch(function () { status.textContent = texts.failed; });
    },
    // Opened from Telegram with a session cookie of someone else (another account on
    // the same device, or a browser signed in by /web): sign in as this account.
    checkAccount: function () {
      var data = initData();
      if (!data) return;
      var who = document.querySelector("[data-telegram-id]");
      var shown = who ? who.getAttribute("data-telegram-id") : "";
      var tgId = "";
      try { tgId = String(JSON.parse(new URLSearchParams(data).get("user") || "{}").id || ""); }
      catch (e) { tgId = ""; }
      if (!tgId || tgId === shown) return;
      fetch("/api/v1/auth/webapp", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({init_data: data})
      }).then(function (r) {
        if (r.ok) { window.location.replace("/app"); return; }
        return fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"})
          .then(function () { window.location.replace("/app"); });
      });
    },
    saveClient: function (id, form) {
      var body = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name) body[el.name] = el.value.trim() || null;
      });
      var err = form.querySelector("[data-testid=form-error]");
      fetch("/api/v1/clients/" + id, {
        method: "PATCH", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().then(function (j) {
          var d = j.detail;
          err.textContent = Array.isArray(d) ? d.map(function (x) {
            return x.loc[x.loc.length - 1] + ": " + x.msg; }).join("; ") : String(d);
          err.hidden = false;  // the form keeps what was typed
        });
      });
      return false;
    },
    upload: function (id, input) {
      if (!input.files.length) return;
      var data = new FormData();
      data.append("file", input.files[0]);
      fetch("/api/v1/clients/" + id + "/documents", {method: "POST", credentials: "same-origin",
        body: data}).then(function (r) {
        if (r.ok) window.location.reload();
        else r.json().then(function (j) { alert(JSON.stringify(j.detail)); });
      });
    },
    filterList: function (q) {
      q = (q || "").toLowerCase().trim();
      document.querySelectorAll("[data-search]").forEach(function (el) {
        el.hidden = q && el.getAttribute("data-search").indexOf(q) < 0;
      });
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  window.addEventListener("load", ready);
})();

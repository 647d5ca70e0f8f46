// Kontakt Mini App shell: Telegram theme, initData sign-in, the JSON API call, list
// filter, and the small pages' actions. The client card's are in card.js.
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
    // a JSON call of our API; rejects with the error's detail ("field: message; ...")
    api: function (method, url, body) {
      var opts = {method: method, credentials: "same-origin", headers: {}};
      if (body !== undefined) {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
      return fetch(url, opts).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) {  // the words for people; the detail for a page to point at the field
            var e = new Error(window.kontakt.detailText(j.detail, r.status));
            e.detail = j.detail;
            throw e;
          }
          return j;
        });
      });
    },
    // an error's detail as a person reads it: "field: message; ..." or the message;
    // the server names the field in the person's language ("field"), else its code
    detailText: function (d, status) {
      return Array.isArray(d) ? d.map(function (x) {
        var name = typeof x.field === "string" ? x.field : x.loc[x.loc.length - 1];
        return name ? name + ": " + x.msg : x.msg; }).join("; ") : String(d || status);
    },
    // a message in a dialog: Telegram's own inside the Mini App, the browser's elsewhere
    tell: function (text) {
      var app = webApp();
      if (app && app.showAlert && app.initData) app.showAlert(text); else alert(text);
    },
    // the answer of a failed request, told readably
    tellFailure: function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        window.kontakt.tell(window.kontakt.detailText(j.detail, r.status)); });
    },
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
    // the Mini App's "new client": likely duplicates first (open one instead, or say
    // whose it is), then create and open the card; the form keeps what was typed
    newClient: function (form, anyway) {
      var T = JSON.parse(document.getElementById("new-client-i18n").textContent);
      var body = {kind: form.elements.kind.value};
      ["name", "phone", "email"].forEach(function (k) {
        var v = form.elements[k].value.trim(); if (v) body[k] = v; });
      var err = form.querySelector("[data-testid=new-client-error]");
      var box = form.querySelector("[data-testid=new-client-duplicates]");
      err.hidden = true;
      var api = window.kontakt.api;
      var check = anyway ? Promise.resolve({items: []}) :
        api("POST", "/api/v1/clients/duplicates", body);
      check.then(function (d) {
        if (d.items.length) {
          box.querySelector("ul").innerHTML = d.items.map(function (m) {
            var name = String(m.name).replace(/[&<>"']/g, function (c) {
              return "&#" + c.charCodeAt(0) + ";"; });
            var who = m.visible ? '<a href="/app/clients/' + m.client_id + '">' + T.open + "</a>" :
              (m.managers.length ? T.whose.replace("{names}", m.managers.join(", ")) : T.nobody)
                .replace(/[&<>]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
            return '<li class="row" data-testid="new-client-duplicate"><div class="main"><div class="name">' +
              name + '</div><div class="sub">' + (T.reasons[m.reason] || "") + " · " + who +
              "</div></div></li>"; }).join("");
          box.hidden = false;
          return null;
        }
        return api("POST", "/api/v1/clients", body).then(function (c) {
          window.location.href = "/app/clients/" + c.id; });
      }).catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    // a template variable put into the text where the cursor is
    insertVariable: function (button) {
      var area = button.form.elements.body;
      var text = "{{ " + button.dataset.insert + " }}";
      var at = area.selectionStart != null ? area.selectionStart : area.value.length;
      area.value = area.value.slice(0, at) + text + area.value.slice(area.selectionEnd || at);
      area.focus();
      area.selectionStart = area.selectionEnd = at + text.length;
      area.dispatchEvent(new Event("input", {bubbles: true}));  // the preview follows
    },
    // U-3: clients found as one types, into a datalist (name → id kept on the input)
    findClients: function (input, listId, exceptId) {
      var q = input.value.trim(), list = document.getElementById(listId);
      input._ids = input._ids || {};
      clearTimeout(input._timer);
      if (q.length < 2 || input._ids[q]) return;
      input._timer = setTimeout(function () {
        window.kontakt.api("GET", "/api/v1/clients?per_page=10&q=" + encodeURIComponent(q))
          .then(function (j) {
            list.innerHTML = "";
            j.items.forEach(function (c) {
              if (c.id === exceptId) return;
              input._ids[c.name] = c.id;
              var o = document.createElement("option"); o.value = c.name; list.appendChild(o);
            });
          }).catch(function () { /* the hint says to choose */ });
      }, 250);
    },
    // S-24: a profile's fields; its photo (a file, or null to remove it)
    saveProfile: function (userId, form) {
      var body = {};
      ["full_name", "position", "phone", "email", "timezone"].forEach(function (k) {
        body[k] = form.elements[k].value.trim() || null; });
      var err = form.querySelector("[data-testid=profile-error]");
      var ok = form.querySelector("[data-testid=profile-saved]");
      err.hidden = ok.hidden = true;
      window.kontakt.api("PATCH", "/api/v1/staff/" + userId + "/profile", body)
        .then(function () { ok.hidden = false; })
        .catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    handOver: function (userId, form) {
      var err = form.querySelector("[data-testid=handover-error]");
      var done = form.querySelector("[data-testid=handover-done]");
      var to = parseInt(form.elements.to_user_id.value, 10);
      err.hidden = done.hidden = true;
      if (!to) { err.textContent = err.dataset.empty; err.hidden = false; return false; }
      window.kontakt.api("POST", "/api/v1/staff/" + userId + "/hand-over",
                         {to_user_id: to, with_work: form.elements.with_work.checked})
        .then(function (r) { done.textContent = "✅ " + done.dataset.msg.replace("{count}", r.moved)
                               .replace("{deals}", r.deals).replace("{tasks}", r.tasks); done.hidden = false;
                             form.querySelector("[data-testid=handover-submit]").disabled = true; })
        .catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    photo: function (userId, input) {
      var err = document.querySelector("[data-testid=photo-error]");
      var req;
      if (input === null) req = fetch("/api/v1/staff/" + userId + "/photo",
                                      {method: "DELETE", credentials: "same-origin"});
      else {
        if (!input.files.length) return false;
        var data = new FormData();
        data.append("file", input.files[0]);
        req = fetch("/api/v1/staff/" + userId + "/photo",
                    {method: "POST", credentials: "same-origin", body: data});
      }
      req.then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().catch(function () { return {}; }).then(function (j) {
          err.textContent = window.kontakt.detailText(j.detail, r.status); err.hidden = false; });
      });
      return false;
    },
    templatePreview: function (form) {
      // the template as it will read, with sample data, while it is typed
      clearTimeout(form._preview);
      form._preview = setTimeout(function () {
        var out = form.querySelector("[data-testid=template-preview]"),
            err = form.querySelector("[data-testid=template-error]");
        var body = {channel: form.elements.channel.value, subject: form.elements.subject.value,
                    body: form.elements.body.value};
        if (!body.body.trim()) return;
        fetch("/api/v1/templates/preview", {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
          .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
          .then(function (rj) {
            if (!rj[0].ok) {
              err.textContent = window.kontakt.detailText(rj[1].detail, rj[0].status);
              err.hidden = false;
              return;
            }
            err.hidden = true;
            out.textContent = (rj[1].subject ? rj[1].subject + "\n\n" : "") + rj[1].body;
          });
      }, 300);
    },
    mailingAction: function (id, action) {
      fetch("/api/v1/mailings/" + id + "/action", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({action: action})})
        .then(function (r) {
          if (r.ok) window.location.reload();
          else window.kontakt.tellFailure(r);
        });
    },
    importUpload: function (input) {
      var self = this;
      var err = document.querySelector("[data-testid=import-error]");
      err.hidden = true;
      if (!input.files.length) return;
      var data = new FormData();
      data.append("file", input.files[0]);
      fetch("/api/v1/imports", {method: "POST", credentials: "same-origin", body: data})
        .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
        .then(function (rj) {
          var r = rj[0], j = rj[1];
          if (!r.ok) {
            err.textContent = Array.isArray(j.detail) ? j.detail[0].msg : String(j.detail);
            err.hidden = false;
            return;
          }
          self.importJob = j.id;
          var table = document.querySelector("[data-testid=import-mapping]");
          table.innerHTML = "";
          j.headers.forEach(function (h, i) {
            var tr = document.createElement("tr");
            var th = document.createElement("td");
            th.textContent = h + (j.preview[0] && j.preview[0][i] ? " (" + j.preview[0][i] + ")" : "");
            var td = document.createElement("td");
            var sel = document.createElement("select");
            sel.setAttribute("data-header", h);
            var none = document.createElement("option");
            none.value = ""; none.textContent = self.importTexts.ignore;
            sel.appendChild(none);
            j.columns.forEach(function (c) {
              var o = document.createElement("option");
              o.value = c; o.textContent = (j.labels && j.labels[c]) || c;
              if (j.mapping[h] === c) o.selected = true;
              sel.appendChild(o);
            });
            td.appendChild(sel); tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
          });
          document.getElementById("mapping").hidden = false;
        });
    },
    importRun: function (dryRun) {
      var self = this, mapping = {};
      document.querySelectorAll("[data-header]").forEach(function (sel) {
        if (sel.value) mapping[sel.getAttribute("data-header")] = sel.value;
      });
      document.getElementById("progress").hidden = false;
      fetch("/api/v1/imports/" + self.importJob + "/run", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({mapping: mapping, dry_run: dryRun})
      }).then(function () { self.importPoll(); });
    },
    importPoll: function () {
      var self = this;
      fetch("/api/v1/imports/" + self.importJob, {credentials: "same-origin"})
        .then(function (r) { return r.json(); }).then(function (j) {
          var bar = document.querySelector("[data-testid=import-progress]");
          bar.value = j.total ? Math.round(100 * j.done / j.total) : 0;
          if (j.status === "running") { setTimeout(function () { self.importPoll(); }, 500); return; }
          var summary = document.querySelector("[data-testid=import-summary]");
          var list = document.querySelector("[data-testid=import-errors]");
          list.innerHTML = "";
          if (j.status === "failed") { summary.textContent = j.error; return; }
          bar.value = 100;
          var r = j.report, t = self.importTexts;
          summary.textContent = (r.dry_run ? t.check + " " : "") + t.summary
            .replace("{rows}", r.rows_total).replace("{created}", r.created)
            .replace("{dups}", r.skipped_duplicates).replace("{bad}", r.bad_rows);
          r.errors.forEach(function (e) {
            var li = document.createElement("li");
            li.textContent = t.row + " " + e.row + " · " + (e.label || e.field) + ": " + e.message;
            list.appendChild(li);
          });
        });
    },
    showError: function (el, j) {
      el.textContent = window.kontakt.detailText(j && j.detail, "");
      el.hidden = false;  // what was typed stays in the form
    },
    // a form to JSON: data-kind="int|bool|json|lines"; names with dots nest one level
    submitJson: function (form, url, method, skip) {
      var self = this, body = {}, err = form.querySelector(".error");
      try {
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || (skip && skip.indexOf(el.name) >= 0)) return;
          var kind = el.getAttribute("data-kind"), v;
          if (kind === "bool") v = el.checked;
          else if (kind === "int") v = el.value === "" ? null : Number(el.value);
          else if (kind === "json") v = el.value.trim() ? JSON.parse(el.value) : null;
          else if (kind === "lines") v = el.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean);
          else v = el.value;
          if (kind === "lines" && !v.length) return;
          var parts = el.name.split(".");
          if (parts.length === 2) { body[parts[0]] = body[parts[0]] || {}; body[parts[0]][parts[1]] = v; }
          else body[el.name] = v;
        });
      } catch (e) { err.textContent = String(e); err.hidden = false; return false; }
      fetch(url, {method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
        .then(function (r) {
          if (r.ok) { window.location.reload(); return; }
          return r.json().then(function (j) { self.showError(err, j); });
        });
      return false;
    },
    // S-5, S-24: a custom-field form (the client card's, a profile's), PUT to its data-url
    saveCustom: function (id, form) {
      var self = this, values = {}, err = form.querySelector("[data-testid=custom-error]");
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name) return;
        var t = el.getAttribute("data-type");
        if (t === "bool") values[el.name] = el.checked;
        else if (t === "multichoice") values[el.name] = Array.prototype.filter.call(
          el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        else values[el.name] = el.value.trim() || null;
      });
      var url = form.getAttribute("data-url") || "/api/v1/clients/" + id + "/custom";
      fetch(url, {method: "PUT", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({values: values})})
        .then(function (r) {
          if (r.ok) { window.location.reload(); return; }
          return r.json().then(function (j) { self.showError(err, j); });
        });
      return false;
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

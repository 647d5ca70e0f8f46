// Kontakt Mini App: bank statements and currency rates (issue 14: K-6, A-15) — upload a
// statement (its report told in words after the page reloads), assign / ignore / restore
// a waiting payment, load a central bank's XML, set or delete a manual rate, convert —
// over /api/v1/bank/* and /api/v1/rates*. The words come from the page (#bank-i18n); a
// refusal is shown in the form, the draft kept.
(function () {
  "use strict";
  var K = window.kontakt;
  var T = JSON.parse(document.getElementById("bank-i18n").textContent);
  var KEY = "kontakt.bankReport";
  function fill(tpl, values) {
    return tpl.replace(/\{(\w+)\}/g, function (m, k) { return values[k] != null ? values[k] : m; });
  }
  function show(box, text) { box.textContent = text; box.hidden = false; }
  function failed(form, e) {
    show(form.querySelector("p.error"), e.message || T.failed);
  }
  function isoOf(text) {  // "05.06.2026" → "2026-06-05"; else false
    var m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(text.trim());
    if (!m) return false;
    var d = new Date(Date.UTC(+m[3], +m[2] - 1, +m[1]));
    if (d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[1]) return false;
    return m[3] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[1]).slice(-2);
  }
  function day(iso) { var p = (iso || "").split("-"); return p.length === 3 ? p[2] + "." + p[1] + "." + p[0] : iso; }
  function send(url, input, box) {  // a multipart upload: the answer's JSON, or the words
    var data = new FormData();
    data.append("file", input.files[0]);
    box.hidden = true;
    return fetch(url, {method: "POST", credentials: "same-origin", body: data}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(K.detailText(j.detail, r.status));
        return j;
      });
    }).catch(function (e) {
      input.value = "";
      show(box, e.message || T.failed);
      throw e;
    });
  }

  // ---- the statement's report, kept over the reload -----------------------------------
  function report(j) {
    var R = T.report, list = document.querySelector("[data-testid=bank-report]");
    if (!list) return;
    var lines = [fill(R.total, {n: j.total})];
    if (!j.new && j.total) lines.push(R.nothing_new);
    else lines.push(fill(R["new"], {n: j.new}) + " · " + fill(R.known, {n: j.known}));
    lines.push(fill(R.matched, {n: j.matched}));
    var waiting = fill(R.waiting, {n: j.unmatched});
    if (j.reasons && j.reasons.length) {
      waiting += " (" + j.reasons.map(function (x) { return x.text + ": " + x.count; }).join("; ") + ")";
    }
    lines.push(waiting);
    if (j.outgoing) lines.push(fill(R.outgoing, {n: j.outgoing}));
    list.innerHTML = "";
    lines.forEach(function (text, i) {
      var li = document.createElement("li");
      li.className = "row";
      li.setAttribute("data-testid", "bank-report-" + ["total", "new", "matched", "waiting", "outgoing"][i]);
      li.textContent = text;
      list.appendChild(li);
    });
    list.hidden = false;
  }
  try {
    var kept = window.sessionStorage.getItem(KEY);
    if (kept) { window.sessionStorage.removeItem(KEY); report(JSON.parse(kept)); }
  } catch (e) { /* no storage: no report */ }

  function upload(input) {
    if (!input.files.length) return;
    var box = document.querySelector("[data-testid=bank-upload-error]");
    send("/api/v1/bank/statements", input, box).then(function (j) {
      try { window.sessionStorage.setItem(KEY, JSON.stringify(j)); } catch (e) { /* none */ }
      window.location.reload();
    }, function () { /* told */ });
  }

  // ---- the queue ------------------------------------------------------------------------
  function openSheet(id, what, lineId) {
    var dialog = document.getElementById(id), form = dialog.querySelector("form");
    form.elements.line_id.value = lineId;
    dialog.querySelector("[data-testid$=-what]").textContent = what;
    form.querySelector("p.error").hidden = true;
    dialog.showModal();
    return form;
  }
  function openAssign(lineId, button) {
    var form = openSheet("bank-assign-sheet", button.getAttribute("data-what"), lineId);
    var input = form.elements.client, suggested = button.getAttribute("data-client");
    input._ids = input._ids || {};
    if (suggested) { input.value = suggested; input._ids[suggested] = +button.getAttribute("data-client-id"); }
    form.elements.invoice_number.value = button.getAttribute("data-invoice") || "";
    input.focus();
  }
  function assign(form) {
    var input = form.elements.client, name = input.value.trim();
    var clientId = (input._ids || {})[name];
    if (!clientId) { input.setAttribute("aria-invalid", "true"); show(form.querySelector("p.error"), T.choose_client); return false; }
    input.removeAttribute("aria-invalid");
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    K.api("POST", "/api/v1/bank/lines/" + form.elements.line_id.value + "/assign",
          {client_id: clientId, invoice_number: form.elements.invoice_number.value.trim() || null})
      .then(function () { window.location.reload(); },
            function (e) { button.disabled = false; failed(form, e); });
    return false;
  }
  function openIgnore(lineId, button) {
    openSheet("bank-ignore-sheet", button.getAttribute("data-what"), lineId).elements.reason.focus();
  }
  function ignore(form) {
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    K.api("POST", "/api/v1/bank/lines/" + form.elements.line_id.value + "/ignore",
          {reason: form.elements.reason.value.trim()})
      .then(function () { window.location.reload(); },
            function (e) { button.disabled = false; failed(form, e); });
    return false;
  }
  function restore(lineId) {
    K.api("POST", "/api/v1/bank/lines/" + lineId + "/restore")
      .then(function () { window.location.reload(); }, function (e) { K.tell(e.message || T.failed); });
  }

  // ---- rates ----------------------------------------------------------------------------
  function uploadRates(input) {
    if (!input.files.length) return;
    var box = document.querySelector("[data-testid=rates-upload-error]");
    send("/api/v1/rates/upload", input, box).then(function (j) {
      var text = fill(T.report.rates, {day: day(j.dated), created: j.created,
                                       updated: j.updated, unchanged: j.unchanged});
      try { window.sessionStorage.setItem(KEY + ".rates", text); } catch (e) { /* none */ }
      window.location.href = "/app/bank?tab=rates&on=" + j.dated;
    }, function () { /* told */ });
  }
  try {
    var told = window.sessionStorage.getItem(KEY + ".rates");
    var where = document.querySelector("[data-testid=rates-report]");
    if (told && where) { window.sessionStorage.removeItem(KEY + ".rates"); show(where, told); }
  } catch (e) { /* no storage: no report */ }
  function setRate(form) {
    var f = form.elements, dated = isoOf(f.dated.value);
    if (!dated) { f.dated.setAttribute("aria-invalid", "true"); show(form.querySelector("p.error"), T.date + ": " + T.bad_date); return false; }
    f.dated.removeAttribute("aria-invalid");
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    K.api("PUT", "/api/v1/rates", {currency: f.currency.value, base: f.base.value, dated: dated,
                                   rate: f.rate.value.trim()})
      .then(function (r) { window.location.href = "/app/bank?tab=rates&on=" + r.dated; },
            function (e) { button.disabled = false; failed(form, e); });
    return false;
  }
  function deleteRate(id, button) {
    if (!window.confirm(button.getAttribute("data-question"))) return;
    K.api("DELETE", "/api/v1/rates/" + id).then(function () { window.location.reload(); },
      function (e) { K.tell(e.message || T.failed); });
  }
  function convert(form) {
    var f = form.elements, on = isoOf(f.on.value), out = form.querySelector("[data-testid=convert-result]");
    out.hidden = true;
    form.querySelector("p.error").hidden = true;
    if (!on) { show(form.querySelector("p.error"), T.date + ": " + T.bad_date); return false; }
    var amount = f.amount.value.replace(/[\s\u00a0]/g, "").replace(",", ".");
    K.api("GET", "/api/v1/rates/convert?amount=" + encodeURIComponent(amount) + "&from=" +
          f.from.value + "&to=" + f.to.value + "&on=" + on).then(function (j) {
      var n = Number(j.amount).toFixed(2).split(".");
      var text = n[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0") + "," + n[1] + "\u00a0" + j.currency;
      show(out, f.amount.value.trim() + " " + f.from.value + " = " +
        fill(T.converted, {amount: text, rate: j.rate.replace(".", ","), day: day(j.on)}));
    }, function (e) { failed(form, e); });
    return false;
  }
  window.kontaktBank = {upload: upload, openAssign: openAssign, assign: assign,
                        openIgnore: openIgnore, ignore: ignore, restore: restore,
                        uploadRates: uploadRates, setRate: setRate, deleteRate: deleteRate,
                        convert: convert};
})();

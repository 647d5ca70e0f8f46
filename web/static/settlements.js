// Kontakt Mini App: settlements (issue 14: K-6, M-6) — the client card's sheet for a
// payment, a credit note or an adjustment, the payment terms form, and the ledger page
// ("Show more", void with a reason) over /api/v1/ledger*, /api/v1/clients/{id}/*.
// The words come from the page (#settle-i18n); a refusal is shown in the form, the
// draft kept.
(function () {
  "use strict";
  var K = window.kontakt;
  var T = null;
  function texts() {
    if (!T) T = JSON.parse(document.getElementById("settle-i18n").textContent);
    return T;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function fill(tpl, values) {
    return tpl.replace(/\{(\w+)\}/g, function (m, k) { return values[k] != null ? values[k] : m; });
  }
  var SIGNS = {RUB: "₽", UAH: "₴", USD: "$", EUR: "€", KZT: "₸", BYN: "Br"};
  // "15 830,40 ₽", "420 000 ₽": no-break spaces, a decimal comma, kopecks when there are some
  function money(value, currency) {
    var n = Number(value), neg = n < 0;
    var parts = Math.abs(n).toFixed(2).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
    return (neg ? "-" : "") + whole + (parts[1] === "00" ? "" : "," + parts[1]) + "\u00a0" +
      (SIGNS[currency] || currency);
  }
  function day(iso) { if (!iso) return ""; var p = iso.split("-"); return p[2] + "." + p[1] + "." + p[0]; }
  function failed(form, e) {
    var box = form.querySelector("p.error");
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (f) {
      f.removeAttribute("aria-invalid"); });
    if (Array.isArray(e.detail)) {
      e.detail.forEach(function (d) {
        var name = d.loc ? d.loc[d.loc.length - 1] : "";
        var f = form.elements[name];
        if (f && f.setAttribute) f.setAttribute("aria-invalid", "true");
      });
    }
    box.textContent = e.message || texts().failed;
    box.hidden = false;
  }

  // ---- the sheet: a payment, a credit note, an adjustment -------------------------------
  function shape(form) {
    var kind = form.elements.kind.value;
    var debit = kind === "adjustment" && form.elements.direction.value === "debit";
    form.querySelector("[data-for=adjustment]").hidden = kind !== "adjustment";
    form.querySelector("[data-for=credit]").hidden = debit;
    if (debit) form.elements.invoice_entry_id.value = "";
    var span = form.querySelector("[data-note]");
    span.textContent = kind === "adjustment" ? span.getAttribute("data-reason") :
      span.getAttribute("data-note");
    form.elements.note.required = kind === "adjustment";
  }
  function open(kind) {
    var dialog = document.getElementById("settle-sheet");
    var form = dialog.querySelector("form");
    if (form.elements.kind.value !== kind) form.querySelector("p.error").hidden = true;
    form.elements.kind.value = kind;
    document.getElementById("settle-sheet-title").textContent = texts().titles[kind];
    shape(form);
    dialog.showModal();
    form.elements.amount.focus();
  }
  function isoOf(text) {  // "05.06.2026" → "2026-06-05"; "" → null; else false
    var s = text.trim();
    if (!s) return null;
    var m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
    if (!m) return false;
    var d = new Date(Date.UTC(+m[3], +m[2] - 1, +m[1]));
    if (d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[1]) return false;
    return m[3] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[1]).slice(-2);
  }
  function save(form, clientId) {
    var f = form.elements, kind = f.kind.value;
    var dated = isoOf(f.dated.value);
    if (dated === false) {
      failed(form, {message: texts().date + ": " + texts().bad_date,
                    detail: [{loc: ["dated"]}]});
      return false;
    }
    var body = {client_id: clientId, amount: f.amount.value.trim(),
                currency: f.currency.value, dated: dated,
                number: f.number.value.trim() || null, note: f.note.value.trim() || null};
    if (!form.querySelector("[data-for=credit]").hidden && f.invoice_entry_id.value) {
      body.invoice_entry_id = parseInt(f.invoice_entry_id.value, 10);
    }
    var url = "/api/v1/ledger/payments";
    if (kind === "credit_note") url = "/api/v1/ledger/credit-notes";
    if (kind === "adjustment") {
      url = "/api/v1/ledger/adjustments";
      body.direction = f.direction.value;
      body.note = body.note || "";
    }
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    K.api("POST", url, body).then(function () {
      window.location.hash = "settlements";
      window.location.reload();
    }, function (e) { button.disabled = false; failed(form, e); });
    return false;
  }
  function saveTerms(form, clientId, toDefault) {
    var body = toDefault ? {"default": true} :
      {basis: form.elements.basis.value, days: form.elements.days.value.trim()};
    K.api("PUT", "/api/v1/clients/" + clientId + "/payment-terms", body).then(function () {
      window.location.hash = "settlements";
      window.location.reload();
    }, function (e) { failed(form, e); });
    return false;
  }
  function saveLimit(form, clientId, remove) {  // the client's credit limit
    var url = "/api/v1/clients/" + clientId + "/credit";
    var done = remove ? K.api("DELETE", url) : K.api("PUT", url, {
      amount: form.elements.amount.value.trim(), currency: form.elements.currency.value,
      overdue_days: form.elements.overdue_days.value.trim() || null});
    done.then(function () {
      window.location.hash = "settlements";
      window.location.reload();
    }, function (e) { failed(form, e); });
    return false;
  }
  document.addEventListener("change", function (ev) {  // an invoice chosen: its currency
    var t = ev.target;
    if (t.name !== "invoice_entry_id" || !t.form) return;
    var opt = t.options[t.selectedIndex];
    var cur = opt && opt.getAttribute("data-currency");
    if (cur) t.form.elements.currency.value = cur;
  });

  // ---- the ledger page: more entries, void ----------------------------------------------
  function row(e, mayVoid) {
    var S = texts(), kind = S.kinds[e.kind] || ["•", e.kind];
    var li = el("li", {"class": "row ledger-row" + (e.void ? " dismissed" : ""),
                       "data-testid": "ledger-row", "data-id": String(e.id)});
    li.appendChild(el("span", {"class": "ledger-icon", "aria-hidden": "true"}, kind[0]));
    var main = el("div", {"class": "main"});
    main.appendChild(el("div", {"class": "name"}, kind[1] + (e.number ? " № " + e.number : "")));
    var sub = day(e.dated);
    if (e.due) sub += " · " + fill(S.due, {date: day(e.due)});
    if (e.kind === "shipment") sub += " · " + S.no_effect;
    else if (e.running != null) sub += " · " + fill(S.balance_after, {amount: money(e.running, e.currency)});
    main.appendChild(el("div", {"class": "sub"}, sub));
    if (e.void) main.appendChild(el("div", {"class": "sub settle-late"}, S.voided + (e.note ? ": " + e.note : "")));
    else if (e.note) main.appendChild(el("div", {"class": "sub"}, e.note));
    li.appendChild(main);
    var side = el("div", {"class": "ledger-side"});
    var debit = ["invoice", "debit", "refund"].indexOf(e.kind) >= 0;
    var credit = ["payment", "credit_note", "credit"].indexOf(e.kind) >= 0;
    side.appendChild(el("b", {"class": "money" + (credit ? " settle-in" : "")},
      (debit ? "+" : credit ? "−" : "") + money(e.amount, e.currency)));
    if (mayVoid && !e.void) {
      var b = el("button", {type: "button", "class": "chip", "data-testid": "ledger-void"}, S.void);
      b.onclick = function () { askVoid(e.id, kind[1] + (e.number ? " № " + e.number : "") + " · " + money(e.amount, e.currency)); };
      side.appendChild(b);
    }
    li.appendChild(side);
    return li;
  }
  function more(button, clientId, mayVoid) {
    var list = document.querySelector("[data-testid=ledger]");
    var offset = list.querySelectorAll("[data-testid=ledger-row]").length;
    button.disabled = true;
    K.api("GET", "/api/v1/clients/" + clientId + "/ledger?limit=30&offset=" + offset).then(function (j) {
      j.items.forEach(function (e) { list.appendChild(row(e, mayVoid)); });
      button.disabled = false;
      button.hidden = offset + j.items.length >= j.total;
    }, function (e) { button.disabled = false; K.tell(e.message || texts().failed); });
  }
  function askVoid(id, what) {
    var dialog = document.getElementById("void-sheet");
    var form = dialog.querySelector("form");
    form.elements.entry_id.value = id;
    document.getElementById("void-what").textContent = what;
    form.querySelector("p.error").hidden = true;
    dialog.showModal();
    form.elements.reason.focus();
  }
  function voidEntry(form) {
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    K.api("POST", "/api/v1/ledger/entries/" + form.elements.entry_id.value + "/void",
          {reason: form.elements.reason.value.trim()}).then(function () {
      window.location.reload();
    }, function (e) { button.disabled = false; failed(form, e); });
    return false;
  }
  window.kontaktSettle = {open: open, shape: shape, save: save, saveTerms: saveTerms, saveLimit: saveLimit,
                          more: more, askVoid: askVoid, voidEntry: voidEntry};
})();

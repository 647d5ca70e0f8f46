// Kontakt Mini App: orders (issue 13: S-17, K-4, K-5, S-22) — the new-order sheet, the
// order editor (header, lines with their price trace, the product picker, totals,
// state buttons, the invoice) over /api/v1/orders*. The words come from the page
// (#orders-i18n), the numbers from the API (decimal strings).
(function () {
  "use strict";
  var T = null;
  function texts() {
    if (!T) T = JSON.parse(document.getElementById("orders-i18n").textContent);
    return T;
  }
  function api(method, url, body) { return window.kontakt.api(method, url, body); }
  function make(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text != null) el.textContent = text;
    return el;
  }
  function fill(tpl, values) {
    return tpl.replace(/\{(\w+)\}/g, function (m, k) { return values[k] != null ? values[k] : m; });
  }
  var SIGNS = {RUB: "₽", UAH: "₴", USD: "$", EUR: "€", KZT: "₸", BYN: "Br"};
  // "15 830,40 ₽": groups of three with no-break spaces, a decimal comma, the kopecks
  function money(value, currency) {
    if (value == null) return "—";
    var n = Number(value), neg = n < 0;
    var parts = Math.abs(n).toFixed(2).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
    return (neg ? "−" : "") + whole + "," + parts[1] + "\u00a0" + (SIGNS[currency] || currency);
  }
  // "2,5", "60", "0,125": no trailing zeros, a decimal comma
  function qty(value) {
    var s = String(value);
    if (s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s.replace(".", ",");
  }
  function percent(value) { return qty(Number(value).toFixed(2)); }
  function fieldOf(e) {  // "lines.0.quantity" from a 422's detail, else ""
    var d = e && e.detail;
    if (!Array.isArray(d) || !d.length) return "";
    var loc = d[0].loc || [];
    return String(loc[loc.length - 1] || "");
  }
  function msgOf(e) {
    var d = e && e.detail;
    if (Array.isArray(d) && d.length) return d.map(function (x) { return x.msg; }).join("; ");
    return e && e.message ? e.message : texts().failed;
  }

  // ---- a new order: the client searched (or given), then the editor ---------------------
  function create(body, button) {
    if (button) button.disabled = true;
    return api("POST", "/api/v1/orders", body).then(function (o) {
      window.location.href = "/app/orders/" + o.id;
    }, function (e) {
      if (button) button.disabled = false;
      var box = document.querySelector("[data-testid=card-order-error]") ||
        document.querySelector("[data-testid=order-new-error]");
      if (box) { box.textContent = msgOf(e); box.hidden = false; } else window.kontakt.tell(msgOf(e));
    });
  }
  function clientSearch(input, list, onPick) {
    var timer = null;
    input.oninput = function () {
      clearTimeout(timer);
      var q = input.value.trim();
      list.innerHTML = "";
      if (q.length < 2) return;
      timer = setTimeout(function () {
        api("GET", "/api/v1/clients?per_page=8&q=" + encodeURIComponent(q)).then(function (j) {
          list.innerHTML = "";
          if (!j.items.length) list.appendChild(make("li", {class: "hint"}, texts().nothing_found));
          j.items.forEach(function (c) {
            var li = make("li");
            var b = make("button", {type: "button", class: "pick-row", "data-testid": "client-pick"}, c.name);
            b.onclick = function () { onPick(c, b); };
            li.appendChild(b); list.appendChild(li);
          });
        }, function (e) { list.innerHTML = ""; list.appendChild(make("li", {class: "error"}, e.message)); });
      }, 250);
    };
  }
  function newOrder() {
    var sheet = document.getElementById("order-new");
    var input = sheet.querySelector("[data-testid=order-new-client]");
    var list = sheet.querySelector("[data-testid=order-new-clients]");
    input.value = ""; list.innerHTML = "";
    sheet.querySelector("[data-testid=order-new-error]").hidden = true;
    clientSearch(input, list, function (c, b) { create({client_id: c.id}, b); });
    sheet.showModal();
    input.focus();
  }

  // ---- the editor ---------------------------------------------------------------------------
  var E = {order: null, hasMatrix: false, short: {}, scope: "matrix", pending: {}, confirm: null};

  function root() { return document.getElementById("order"); }
  function q(test) { return root().querySelector("[data-testid=" + test + "]"); }
  function showError(text) {
    var box = q("order-error");
    box.textContent = text || ""; box.hidden = !text;
    if (text && box.scrollIntoView) box.scrollIntoView({block: "center"});
  }
  function note(text, link) {
    var box = q("order-note");
    box.textContent = text || "";
    if (link) { box.appendChild(document.createTextNode(" ")); box.appendChild(link); }
    box.hidden = !text;
  }
  function conflict(e) {
    if (fieldOf(e) !== "version") return false;
    window.kontakt.tell(texts().conflict);
    window.location.reload();
    return true;
  }

  function traceLines(line, currency) {
    var W = texts().trace, out = [];
    (line.trace || []).forEach(function (s) {
      var v = {price: money(s.price, currency), list: s.list, rule: s.rule, group: s.group,
               promo: s.promo, value: s.value != null ? percent(s.value) : "",
               who: s.by_name || "", reason: s.reason || ""};
      var key = s.step;
      if (key === "rule") key = s.method === "markup" ? "rule_markup" :
        (s.method === "fixed" ? "rule_fixed" : "rule_discount");
      if (key === "override" && s.reason) key = "override_reason";
      if (W[key]) out.push(fill(W[key], v));
    });
    out.push(fill(W.final, {price: money(line.price, currency)}));
    return out;
  }

  function lineRow(line, n) {
    var o = E.order, draft = o.state === "draft", cur = o.currency, W = texts();
    var li = make("li", {class: "order-line", "data-testid": "order-line", "data-product": line.product_id});
    var head = make("div", {class: "line-head"});
    head.appendChild(make("div", {class: "name", "data-testid": "line-name"}, line.name));
    if (draft) {
      var rm = make("button", {type: "button", class: "chip", "data-testid": "line-remove",
                               "aria-label": W.remove, title: W.remove}, "✕");
      rm.onclick = function () { removeLine(n); };
      head.appendChild(rm);
    }
    li.appendChild(head);
    if (line.off_matrix) li.appendChild(make("div", {class: "warn small-line", "data-testid": "line-off-matrix"}, "⚠️ " + W.off_matrix));
    var grid = make("div", {class: "line-grid"});
    var qBox = make("label", {}, W.qty + ", " + line.unit);
    var qIn = make("input", {name: "quantity", inputmode: "decimal", autocomplete: "off",
                             "data-testid": "line-qty", value: E.pending[n] != null ? E.pending[n] : qty(line.quantity)});
    if (!draft) qIn.disabled = true;
    qIn.onchange = function () { setQuantity(n, qIn.value); };
    qBox.appendChild(qIn); grid.appendChild(qBox);
    var pBox = make("label", {}, W.price);
    var pIn = make("input", {name: "price", inputmode: "decimal", autocomplete: "off",
                             "data-testid": "line-price", value: money(line.price, cur)});
    if (!draft) pIn.disabled = true;
    pIn.onfocus = function () { pIn.value = Number(line.price).toFixed(2).replace(".", ","); pIn.select(); };
    pIn.onchange = function () { pIn.dataset.sent = "1"; setPrice(n, pIn.value, null); };
    pIn.onblur = function () { if (!pIn.dataset.sent) pIn.value = money(line.price, cur); };
    pBox.appendChild(pIn); grid.appendChild(pBox);
    li.appendChild(grid);
    var facts = make("div", {class: "line-facts"});
    if (Number(line.discount)) facts.appendChild(make("span", {"data-testid": "line-discount"},
      W.discount + " " + percent(line.discount) + "\u00a0%"));
    facts.appendChild(make("span", {"data-testid": "line-vat"}, line.vat_rate != null ?
      fill(W.vat, {rate: percent(line.vat_rate)}) + ": " + money(line.vat_amount, cur) : W.no_vat));
    facts.appendChild(make("b", {class: "money", "data-testid": "line-amount"}, money(line.amount, cur)));
    li.appendChild(facts);
    var short = E.short[line.product_id];
    if (short) li.appendChild(make("div", {class: "error", "data-testid": "line-short"}, "⚠️ " + fill(W.short, {
      qty: qty(short.short), unit: short.unit, needed: qty(short.needed), free: qty(short.free)})));
    var err = make("p", {class: "error", "data-testid": "line-error"});
    err.hidden = true; li.appendChild(err);
    var reason = make("div", {class: "line-reason", "data-testid": "line-reason"});
    reason.hidden = true;
    var rIn = make("input", {name: "override_reason", maxlength: "300", "data-testid": "line-reason-input",
                             placeholder: W.reason, "aria-label": W.reason});
    var rGo = make("button", {type: "button", class: "chip", "data-testid": "line-reason-send"}, W.reason_send);
    rGo.onclick = function () { setPrice(n, pIn.value, rIn.value); };
    reason.appendChild(rIn); reason.appendChild(rGo); li.appendChild(reason);
    var why = make("details", {class: "why", "data-testid": "line-why"});
    why.appendChild(make("summary", {}, "💡 " + W.why));
    var ol = make("ol", {"data-testid": "line-trace"});
    traceLines(line, cur).forEach(function (t) { ol.appendChild(make("li", {}, t)); });
    why.appendChild(ol); li.appendChild(why);
    return li;
  }

  function render() {
    var o = E.order, W = texts();
    q("order-state").textContent = W.states[o.state];
    q("order-state").className = "order-state state-" + o.state;
    var list = q("order-lines");
    list.innerHTML = "";
    if (!o.lines.length) list.appendChild(make("li", {class: "hint", "data-testid": "order-no-lines"}, W.no_lines));
    o.lines.forEach(function (line, n) { list.appendChild(lineRow(line, n)); });
    var net = Number(o.total) - Number(o.vat_total);  // VAT inside or on top, the same
    q("total-net").textContent = money(net.toFixed(2), o.currency);
    q("total-vat").textContent = money(o.vat_total, o.currency);
    q("total").textContent = money(o.total, o.currency);
    var disc = q("total-discount");
    disc.hidden = !Number(o.discount_total);
    disc.textContent = W.discount + ": " + money(o.discount_total, o.currency);
    root().querySelectorAll("[data-when]").forEach(function (b) {
      b.hidden = b.dataset.when.split(" ").indexOf(o.state) < 0;
    });
    q("order-cancel-confirm").hidden = true;
    if (o.state !== "draft") {
      var add = q("order-add"); if (add) add.hidden = true;
      q("order-head").querySelectorAll("select").forEach(function (s) { s.disabled = true; });
      var change = q("order-client-change"); if (change) change.hidden = true;
    }
  }

  // the lines as sent again: a price typed by hand stays typed, a confirmed product stays
  function asSent(line) {
    var typed = null;
    (line.trace || []).forEach(function (s) { if (s.step === "override") typed = s; });
    var out = {product_id: line.product_id, quantity: line.quantity, off_matrix: !!line.off_matrix};
    if (typed) { out.price = line.price; out.override_reason = typed.reason || null; }
    return out;
  }
  function putLines(lines, n) {
    showError("");
    return api("PUT", "/api/v1/orders/" + E.order.id + "/lines",
               {lines: lines, version: E.order.version}).then(function (o) {
      E.order = o; E.pending = {}; E.short = {};
      render();
      creditWarning();
      return o;
    }, function (e) {
      if (conflict(e)) throw e;
      var field = fieldOf(e), m = /^lines\.(\d+)\.(\w+)$/.exec(field);
      var rows = q("order-lines").querySelectorAll("[data-testid=order-line]");
      var at = m ? Number(m[1]) : n;
      var row = at != null ? rows[at] : null;
      if (row) {
        var box = row.querySelector("[data-testid=line-error]");
        // a refusal that is not a field's: a price below the floor without the right
        var typed = at != null && lines[at] && lines[at].price != null;
        box.textContent = !m && typed && typeof e.detail === "string" ?
          texts().no_right_price + " (" + e.detail + ")" : msgOf(e);
        box.hidden = false;
        if (m && m[2] === "override_reason") row.querySelector("[data-testid=line-reason]").hidden = false;
        if (m && m[2] === "quantity") row.querySelector("[data-testid=line-qty]").setAttribute("aria-invalid", "true");
      } else showError(msgOf(e));
      throw e;
    });
  }
  function setQuantity(n, value) {
    var lines = E.order.lines.map(asSent);
    lines[n].quantity = value;
    E.pending[n] = value;  // what was typed stays in the field if it is refused
    putLines(lines, n).catch(function () {});
  }
  function setPrice(n, value, reason) {
    var lines = E.order.lines.map(asSent);
    var v = String(value).replace(/[^\d,.\-]/g, "");
    lines[n].price = v;
    if (reason != null) lines[n].override_reason = reason;
    putLines(lines, n).catch(function () {});
  }
  function removeLine(n) {
    var lines = E.order.lines.map(asSent);
    lines.splice(n, 1);
    putLines(lines, null).catch(function () {});
  }

  // ---- the picker: a bottom sheet ------------------------------------------------------------
  var pickTimer = null;
  function openPicker() {
    var sheet = document.getElementById("picker");
    var input = sheet.querySelector("[data-testid=picker-search]");
    input.value = "";
    E.scope = E.hasMatrix ? "matrix" : "all";
    E.confirm = null;
    sheet.querySelectorAll("button.scope").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.scope === E.scope));
      b.onclick = function () {
        E.scope = b.dataset.scope; E.confirm = null;
        sheet.querySelectorAll("button.scope").forEach(function (x) {
          x.setAttribute("aria-pressed", String(x === b)); });
        search();
      };
    });
    input.oninput = function () { clearTimeout(pickTimer); pickTimer = setTimeout(search, 250); };
    sheet.showModal();
    search();
    input.focus();
  }
  function search() {
    var sheet = document.getElementById("picker");
    var text = sheet.querySelector("[data-testid=picker-search]").value.trim();
    var list = sheet.querySelector("[data-testid=picker-results]");
    var err = sheet.querySelector("[data-testid=picker-error]");
    err.hidden = true;
    var asked = text + "|" + E.scope;
    api("GET", "/api/v1/orders/" + E.order.id + "/picker?scope=" + E.scope + "&q=" +
        encodeURIComponent(text)).then(function (j) {
      var now = sheet.querySelector("[data-testid=picker-search]").value.trim() + "|" + E.scope;
      if (now !== asked) return;  // a later search is on its way
      list.innerHTML = "";
      if (!j.items.length) list.appendChild(make("li", {class: "hint"}, texts().nothing_found));
      j.items.forEach(function (it) { list.appendChild(pickRow(it)); });
    }, function (e) { err.textContent = msgOf(e); err.hidden = false; });
  }
  function pickRow(it) {
    var W = texts(), p = it.product, cur = E.order.currency;
    var li = make("li");
    var b = make("button", {type: "button", class: "pick-row product-pick", "data-testid": "picker-item"});
    if (it.price == null) b.disabled = true;
    var top = make("span", {class: "pick-top"});
    top.appendChild(make("span", {class: "pick-name"}, p.name));
    top.appendChild(make("b", {class: "money", "data-testid": "picker-price"},
                         it.price != null ? money(it.price, cur) : "—"));
    b.appendChild(top);
    var sub = [p.code || ""];
    sub.push(it.free == null ? W.service : fill(W.free, {qty: qty(it.free), unit: p.unit}));
    if (it.price == null) sub.push(W.no_price);
    if (!it.in_matrix) sub.push("⚠️ " + W.off_matrix);
    b.appendChild(make("span", {class: "sub", "data-testid": "picker-sub"}, sub.filter(Boolean).join(" · ")));
    var ask = make("span", {class: "warn pick-confirm", "data-testid": "picker-confirm"}, W.confirm_off_matrix);
    ask.hidden = E.confirm !== p.id;
    b.appendChild(ask);
    b.onclick = function () {
      if (!it.in_matrix && E.confirm !== p.id) {  // the first tap asks, the second adds
        E.confirm = p.id;
        document.querySelectorAll("[data-testid=picker-confirm]").forEach(function (x) { x.hidden = true; });
        ask.hidden = false;
        return;
      }
      addProduct(p, !it.in_matrix);
    };
    li.appendChild(b);
    return li;
  }
  function addProduct(p, offMatrix) {
    var sheet = document.getElementById("picker");
    var lines = E.order.lines.map(asSent);
    lines.push({product_id: p.id, quantity: "1", off_matrix: offMatrix});
    putLines(lines, null).then(function (o) {
      sheet.close();
      var rows = q("order-lines").querySelectorAll("[data-testid=line-qty]");
      var last = rows[rows.length - 1];
      if (last) { last.focus(); last.select(); if (last.scrollIntoView) last.scrollIntoView({block: "center"}); }
      return o;
    }, function (e) {
      var err = sheet.querySelector("[data-testid=picker-error]");
      err.textContent = msgOf(e); err.hidden = false;
    });
  }

  // ---- the header -----------------------------------------------------------------------------
  function patchHead(body, reload) {
    var err = q("order-head-error");
    err.hidden = true;
    body.version = E.order.version;
    return api("PATCH", "/api/v1/orders/" + E.order.id, body).then(function (o) {
      if (reload) { window.location.reload(); return; }
      E.order = o; render();
    }, function (e) {
      if (conflict(e)) return;
      err.textContent = msgOf(e); err.hidden = false;
    });
  }
  function changeClient() {
    var box = q("order-client-search");
    box.hidden = false;
    var input = box.querySelector("input");
    clientSearch(input, box.querySelector("ul"), function (c) {
      patchHead({client_id: c.id}, true);
    });
    input.focus();
  }

  // ---- states and the invoice ------------------------------------------------------------------
  function move(action) {
    showError(""); note("");
    var buttons = root().querySelectorAll(".order-actions button");
    buttons.forEach(function (b) { b.disabled = true; });
    api("POST", "/api/v1/orders/" + E.order.id + "/" + action).then(function (o) {
      E.order = o; E.short = {}; render();
    }, function (e) {
      if (conflict(e)) return;
      showError(msgOf(e));
      if (action === "post") credit(msgOf(e));
      if (action === "post") {  // which lines are short, and by how much (K-4)
        api("GET", "/api/v1/orders/" + E.order.id + "/stock").then(function (j) {
          E.short = {};
          j.items.forEach(function (s) { if (Number(s.short) > 0) E.short[s.product_id] = s; });
          render(); showError(msgOf(e));
        });
      }
    }).then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  }
  // while a draft is put together, the credit check's words as a warning
  function creditWarning() {
    var box = q("credit-warning");
    if (!box || E.order.state !== "draft" || !E.order.lines.length) { if (box) box.hidden = true; return; }
    api("GET", "/api/v1/orders/" + E.order.id + "/credit").then(function (j) {
      box.textContent = j.ok ? "" : "⚠️ " + j.message;
      box.hidden = j.ok;
    }, function () { box.hidden = true; });
  }
  // a posting refused for credit offers to ask for an exception (the owner's)
  function credit(refusal) {
    var form = q("credit-ask");
    api("GET", "/api/v1/orders/" + E.order.id + "/credit").then(function (j) {
      if (j.ok) { form.hidden = true; return; }
      if (j.pending_id) { form.hidden = true; note(texts().credit_pending); return; }
      form.hidden = false;
    }, function () { form.hidden = true; });
  }
  function askCredit(form) {
    var reason = form.elements.reason.value.trim();
    if (!reason) { showError(texts().credit_reason); form.elements.reason.focus(); return false; }
    api("POST", "/api/v1/orders/" + E.order.id + "/credit-overrides", {reason: reason}).then(
      function () { form.hidden = true; form.reset(); showError(""); note(texts().credit_asked); },
      function (e) { showError(msgOf(e)); });
    return false;
  }
  function askCancel(show) {
    q("order-cancel-confirm").hidden = !show;
    q("order-cancel").hidden = show;
  }
  function invoice(send) {
    showError(""); note("");
    var W = texts();
    api("POST", "/api/v1/orders/" + E.order.id + "/invoice", {send: send}).then(function (j) {
      var link = make("a", {href: "/api/v1/documents/" + j.document_id, target: "_blank",
                            rel: "noopener", "data-testid": "order-invoice-link"}, W.invoice_open);
      if (send) {
        var email = root().dataset.clientEmail;
        note(email ? fill(W.invoice_sent, {email: email}) : W.invoice_sent_client, link);
      } else note(W.invoice_ready, link);
      E.order.invoice_id = j.document_id;
    }, function (e) { showError(msgOf(e)); });
  }

  function editor(hasMatrix) {
    E.order = JSON.parse(document.getElementById("order-data").textContent);
    E.hasMatrix = !!hasMatrix;
    q("order-head").querySelectorAll("select").forEach(function (s) {
      s.onchange = function () {
        var body = {}; body[s.name] = s.value ? Number(s.value) : null;
        patchHead(body, false);
      };
    });
    render();
    creditWarning();
  }

  window.kontaktOrders = {
    create: create, newOrder: newOrder, editor: editor, openPicker: openPicker,
    changeClient: changeClient, move: move, askCancel: askCancel, invoice: invoice, askCredit: askCredit,
    money: money
  };
})();

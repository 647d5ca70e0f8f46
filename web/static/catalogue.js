// The catalogue, the stock and the catalogue settings (issue 13, K-4) over
// /api/v1/catalogue/*, /api/v1/stock: a list paged as it scrolls by "Show more", a
// product's sheet, the admin's form keeping the draft on a refused value.
(function () {
  "use strict";
  var K = window.kontakt;
  var D = JSON.parse(document.getElementById("cat-data").textContent);
  var T = D.t;
  var LOCALE = {ru: "ru-RU", uk: "uk-UA"}[D.lang] || "en-GB";
  var PAGE = 30;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";"; });
  }
  function qty(s) {  // "12.500" → "12,5"
    if (s == null) return "—";
    return Number(s).toLocaleString(LOCALE, {maximumFractionDigits: 3});
  }
  function money(s, currency) {
    if (s == null) return T.no_price;
    var n = Number(s);
    try {
      return n.toLocaleString(LOCALE, {style: "currency", currency: currency || "RUB",
        minimumFractionDigits: n % 1 ? 2 : 0, maximumFractionDigits: 2});
    } catch (e) { return n.toLocaleString(LOCALE) + " " + (currency || ""); }
  }
  function byId(id) { return document.getElementById(id); }
  function tid(root, name) { return root.querySelector("[data-testid=" + name + "]"); }
  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  function fieldOf(e) {  // the refused field's name from the API's detail
    var d = e && e.detail;
    if (!Array.isArray(d) || !d.length) return null;
    var loc = d[0].loc || [];
    return loc[loc.length - 1];
  }

  var C = {current: null};

  // ---- /app/catalogue -----------------------------------------------------------------
  C.catalogue = function () {
    var root = byId("catalogue"), list = byId("cat-list"), more = byId("cat-more");
    var err = byId("cat-error"), chips = byId("cat-chips"), q = byId("cat-q");
    var arch = byId("cat-archived");
    var state = {category: null, offset: 0, currency: "RUB"};
    C.admin = root.dataset.admin === "1";

    function chip(id, label) {
      var b = document.createElement("button");
      b.type = "button"; b.className = "stage-chip"; b.setAttribute("role", "tab");
      b.dataset.testid = "cat-chip"; b.dataset.category = id == null ? "" : id;
      b.innerHTML = '<span class="top"><span class="name">' + esc(label) + "</span></span>";
      b.setAttribute("aria-selected", String(id === state.category));
      b.onclick = function () { state.category = id; drawChips(); load(true); };
      chips.appendChild(b);
    }
    function drawChips() {
      chips.innerHTML = "";
      chip(null, T.all);
      D.categories.forEach(function (c) {
        chip(c.id, (c.depth ? new Array(c.depth + 1).join("› ") : "") + c.name); });
    }
    function row(p) {
      var li = document.createElement("li");
      li.className = "row cat-row" + (p.archived ? " dismissed" : "");
      li.dataset.testid = "cat-row"; li.dataset.id = p.id;
      var sub = [p.code, p.category].filter(Boolean).map(esc).join(" · ");
      var stock = p.is_service ? T.service : T.free + ": " + qty(p.free) + " " + esc(p.unit);
      li.innerHTML = '<div class="main"><div class="name">' + esc(p.name) +
        (p.archived ? " · " + esc(T.archived) : "") + '</div><div class="sub">' + sub +
        '</div></div><div class="side"><div class="money" data-testid="cat-price">' +
        esc(money(p.price, state.currency)) + '</div><div class="sub" data-testid="cat-free">' +
        stock + "</div></div>";
      li.onclick = function () { C.open(p.id); };
      return li;
    }
    function load(reset) {
      if (reset) state.offset = 0;
      var params = new URLSearchParams({q: q.value.trim(), offset: state.offset, limit: PAGE});
      if (state.category != null) params.set("category_id", state.category);
      if (arch && arch.checked) params.set("archived", "true");
      err.hidden = true;
      return K.api("GET", "/api/v1/catalogue/products?" + params).then(function (page) {
        state.currency = page.currency;
        if (reset) list.innerHTML = "";
        page.items.forEach(function (p) { list.appendChild(row(p)); });
        if (reset && !page.items.length) {
          list.innerHTML = '<li class="hint" data-testid="cat-empty">' + esc(T.nothing_found) + "</li>";
        }
        state.offset += page.items.length;
        more.hidden = !page.has_more;
      }).catch(function (e) { err.textContent = e.message || T.failed; err.hidden = false; });
    }
    C.reload = function () { return load(true); };
    q.addEventListener("input", debounce(function () { load(true); }, 250));
    if (arch) arch.addEventListener("change", function () { load(true); });
    more.onclick = function () { load(false); };
    drawChips();
    load(true);
  };

  C.open = function (id) {
    var sheet = byId("product-sheet");
    return K.api("GET", "/api/v1/catalogue/products/" + id).then(function (p) {
      C.current = p;
      tid(sheet, "ps-name").textContent = p.name;
      tid(sheet, "ps-sub").textContent = [p.code, p.category, p.archived ? T.archived : null]
        .filter(Boolean).join(" · ");
      var facts = [[T.unit, p.unit], [T.vat, p.vat_rate == null ? T.no_vat : p.vat_rate + " %"],
        [T.kind, p.kind], [T.cost, p.cost_price == null ? null : money(p.cost_price, "RUB")],
        [T.barcode, p.barcode]];
      if (p.is_service) facts.push([T.service, "✓"]);
      tid(sheet, "ps-facts").innerHTML = facts.filter(function (f) { return f[1]; })
        .map(function (f) { return "<dt>" + esc(f[0]) + "</dt><dd>" + esc(f[1]) + "</dd>"; }).join("");
      tid(sheet, "ps-prices").innerHTML = p.prices.map(function (l) {
        return '<li class="row" data-testid="ps-price"><div class="main">' + esc(l.price_list) +
          (l.is_default ? " · " + esc(T["default"]) : "") +
          (l.from_base_list ? '<div class="sub">' + esc(T.from_base) + "</div>" : "") +
          '</div><div class="money">' + esc(money(l.price, l.currency)) + "</div></li>"; }).join("");
      tid(sheet, "ps-stock-block").hidden = p.is_service;
      tid(sheet, "ps-stock").innerHTML = p.stock.map(function (s) {
        return '<li class="row" data-testid="ps-stock-row"><div class="main">' + esc(s.warehouse) +
          '<div class="sub">' + esc(T.on_hand) + " " + qty(s.on_hand) + " · " + esc(T.reserved) +
          " " + qty(s.reserved) + '</div></div><div class="money">' + esc(T.free) + " " +
          qty(s.free) + " " + esc(p.unit) + "</div></li>"; }).join("");
      var arch = tid(sheet, "ps-archive");
      if (arch) arch.textContent = p.archived ? "♻️ " + T.restore : "🗄 " + T.archive;
      if (!sheet.open) sheet.showModal();
    }).catch(function (e) { K.tell(e.message || T.failed); });
  };

  C.edit = function (p) {
    var dialog = byId("product-form-dialog"), form = byId("product-form");
    form.reset();
    Array.prototype.forEach.call(form.elements, function (el) { el.removeAttribute("aria-invalid"); });
    tid(form, "pf-error").hidden = true;
    tid(form, "pf-heading").textContent = p ? T.edit_product : T.new_product;
    form.elements.id.value = p ? p.id : "";
    if (p) {
      ["name", "code", "unit", "barcode", "vat_rate"].forEach(function (k) {
        form.elements[k].value = p[k] == null ? "" : p[k]; });
      form.elements.cost_price.value = p.cost_price == null ? "" :
        (D.lang === "en" ? p.cost_price : p.cost_price.replace(".", ","));
      form.elements.group_id.value = p.group_id || "";
      form.elements.kind_id.value = p.kind_id || "";
      form.elements.is_service.checked = p.is_service;
    }
    var sheet = byId("product-sheet");
    if (sheet && sheet.open) sheet.close();
    dialog.showModal();
  };

  C.save = function (form) {
    var err = tid(form, "pf-error"), id = form.elements.id.value;
    var body = {};
    ["name", "code", "unit", "barcode", "vat_rate", "cost_price"].forEach(function (k) {
      body[k] = form.elements[k].value.trim(); });
    body.group_id = form.elements.group_id.value ? Number(form.elements.group_id.value) : null;
    body.kind_id = form.elements.kind_id.value ? Number(form.elements.kind_id.value) : null;
    body.is_service = form.elements.is_service.checked;
    err.hidden = true;
    Array.prototype.forEach.call(form.elements, function (el) { el.removeAttribute("aria-invalid"); });
    K.api(id ? "PATCH" : "POST", "/api/v1/catalogue/products" + (id ? "/" + id : ""), body)
      .then(function (p) {
        form.closest("dialog").close();
        C.reload();
        C.open(p.id);
      }).catch(function (e) {  // the draft stays; the field is marked
        err.textContent = e.message; err.hidden = false;
        var f = fieldOf(e);
        if (f && form.elements[f]) { form.elements[f].setAttribute("aria-invalid", "true"); form.elements[f].focus(); }
      });
    return false;
  };

  C.toggleArchive = function () {
    var p = C.current;
    if (!p) return;
    if (!p.archived && !window.confirm(T.sure_archive.replace("{name}", p.name))) return;
    K.api("PATCH", "/api/v1/catalogue/products/" + p.id, {archived: !p.archived})
      .then(function () { C.reload(); return C.open(p.id); })
      .catch(function (e) { K.tell(e.message); });
  };

  // ---- files ---------------------------------------------------------------------------
  C.upload = function (input, what) {
    if (!input.files.length) return;
    var summary = document.querySelector("[data-testid=" + (what === "stock" ? "stock" : "cat") + "-import-summary]");
    var errors = document.querySelector("[data-testid=" + (what === "stock" ? "stock" : "cat") + "-import-errors]");
    var data = new FormData();
    data.append("file", input.files[0]);
    summary.textContent = "…"; errors.innerHTML = "";
    fetch("/api/v1/catalogue/import?what=" + what, {method: "POST", credentials: "same-origin", body: data})
      .then(function (r) {
        if (!r.ok) { input.value = ""; summary.textContent = ""; return K.tellFailure(r); }
        return r.json().then(function (j) { poll(j.id); });
      }).catch(function () { summary.textContent = T.failed; });
    function poll(id) {
      K.api("GET", "/api/v1/catalogue/import/" + id).then(function (j) {
        if (j.status === "running") {
          summary.textContent = j.total ? j.done + " / " + j.total : "…";
          setTimeout(function () { poll(id); }, 500);
          return;
        }
        input.value = "";
        if (j.status === "failed") { summary.textContent = j.error; return; }
        var r = j.report;
        summary.textContent = T.rows.replace("{rows}", r.rows_total).replace("{created}", r.created)
          .replace("{updated}", r.updated).replace("{bad}", r.bad_rows);
        errors.innerHTML = r.errors.map(function (e) {
          return '<li data-testid="import-error-row">' + esc(T.row) + " " + e.row + " · " +
            esc(e.label) + ": " + esc(e.message) + "</li>"; }).join("");
        if (C.reload) C.reload();
      }).catch(function (e) { summary.textContent = e.message || T.failed; });
    }
  };

  // ---- /app/stock ----------------------------------------------------------------------
  C.stock = function () {
    var root = byId("stock"), sel = byId("stock-warehouse");
    if (!sel) return;
    var rows = byId("stock-rows"), more = byId("stock-more"), err = byId("stock-error");
    var q = byId("stock-q"), short = byId("stock-short");
    var admin = root.dataset.admin === "1", offset = 0;

    function links() {
      document.querySelectorAll("[data-format]").forEach(function (a) {
        a.href = "/api/v1/stock/export?format=" + a.dataset.format + "&warehouse_id=" + sel.value; });
    }
    function tr(r) {
      var el = document.createElement("tr");
      el.dataset.testid = "stock-row"; el.dataset.id = r.product_id;
      var hand = admin ? '<input class="qty" data-testid="stock-on-hand" inputmode="decimal" value="' +
        esc(qty(r.on_hand).replace(/\s/g, "")) + '" aria-label="' + esc(T.on_hand) + '">' : qty(r.on_hand);
      el.innerHTML = '<td><div class="name">' + esc(r.name) + '</div><div class="sub">' +
        esc(r.code || "") + " " + esc(r.unit) + "</div></td><td>" + hand + "</td><td>" +
        qty(r.reserved) + '</td><td data-testid="stock-free" class="' +
        (Number(r.free) <= 0 ? "warn" : "") + '">' + qty(r.free) + "</td>";
      var input = el.querySelector("input");
      if (input) input.addEventListener("change", function () {
        err.hidden = true; input.removeAttribute("aria-invalid");
        K.api("PUT", "/api/v1/stock/" + sel.value + "/" + r.product_id, {on_hand: input.value.trim()})
          .then(function (fresh) { rows.replaceChild(tr(fresh), el); })
          .catch(function (e) {  // what was typed stays, marked
            input.setAttribute("aria-invalid", "true");
            err.textContent = r.name + ": " + e.message; err.hidden = false; });
      });
      return el;
    }
    function load(reset) {
      if (reset) offset = 0;
      var params = new URLSearchParams({warehouse_id: sel.value, q: q.value.trim(),
        short: short.checked ? "true" : "false", offset: offset, limit: PAGE});
      err.hidden = true;
      K.api("GET", "/api/v1/stock?" + params).then(function (page) {
        if (reset) rows.innerHTML = "";
        page.items.forEach(function (r) { rows.appendChild(tr(r)); });
        if (reset && !page.items.length) {
          rows.innerHTML = '<tr><td colspan="4" class="hint" data-testid="stock-empty">' + esc(T.nothing_found) + "</td></tr>";
        }
        offset += page.items.length;
        more.hidden = !page.has_more;
      }).catch(function (e) { err.textContent = e.message || T.failed; err.hidden = false; });
    }
    C.reload = function () { load(true); };
    sel.addEventListener("change", function () { links(); load(true); });
    q.addEventListener("input", debounce(function () { load(true); }, 250));
    short.addEventListener("change", function () { load(true); });
    more.onclick = function () { load(false); };
    links();
    load(true);
  };

  // ---- /app/catalogue/settings ---------------------------------------------------------
  C.send = function (form) {
    var body = {}, err = form.querySelector(".error");
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      if (el.type === "checkbox") body[el.name] = el.checked;
      else if (el.name === "parent_id") body.parent_id = el.value ? Number(el.value) : null;
      else body[el.name] = el.value.trim();
    });
    err.hidden = true;
    K.api(form.dataset.method, form.dataset.url, body).then(function () {
      window.location.reload();
    }).catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  };

  C.archive = function (button) {
    var form = button.form, archived = button.dataset.archived === "1";
    K.api("PATCH", form.dataset.url, {archived: !archived}).then(function () {
      window.location.reload();
    }).catch(function (e) { K.tell(e.message); });
  };

  window.kontaktCatalogue = C;
})();

// Prices, discounts and matrices in the Mini App (issue 13: K-5, M-5, A-14, S-22), over
// the JSON API; every refusal is shown next to the form, what was typed stays.
(function () {
  "use strict";
  var K = window.kontakt;
  var T = {};
  var DATA = {};
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "onclick") e.onclick = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fill(tpl, params) {
    return String(tpl).replace(/\{(\w+)\}/g, function (m, k) {
      return params[k] === undefined || params[k] === null ? "" : params[k]; });
  }
  function num(v) {  // "1500.00" → "1 500", "12.50" → "12,5" (ru/uk)
    if (v === null || v === undefined || v === "") return "";
    var lang = document.documentElement.lang;
    var n = Number(v);
    if (!isFinite(n)) return String(v);
    return n.toLocaleString(lang === "en" ? "en-GB" : lang === "uk" ? "uk-UA" : "ru-RU",
                            {maximumFractionDigits: 3});
  }
  function money(v) {  // "201.6" → "201,60"
    if (v === null || v === undefined || v === "") return "";
    var lang = document.documentElement.lang;
    return Number(v).toLocaleString(lang === "en" ? "en-GB" : lang === "uk" ? "uk-UA" : "ru-RU",
                                    {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function cash(v, cur) {  // "260.00", "RUB" → "260,00 ₽"
    if (v === null || v === undefined || v === "") return "";
    var lang = document.documentElement.lang;
    try {
      return Number(v).toLocaleString(lang === "en" ? "en-GB" : lang === "uk" ? "uk-UA" : "ru-RU",
                                      {style: "currency", currency: cur, currencyDisplay: "narrowSymbol"});
    } catch (e) { return money(v) + " " + cur; }
  }
  function day(iso) { if (!iso) return "…"; var p = iso.split("-"); return p[2] + "." + p[1] + "." + p[0]; }
  // the form's named fields: data-kind int / bool; an empty text is null
  function values(form, names) {
    var out = {};
    $$("[name]", form).forEach(function (f) {
      var name = f.name;
      if (names && names.indexOf(name) < 0) return;
      if (f.type === "radio") { if (f.checked) out[name] = f.value; return; }
      var kind = f.getAttribute("data-kind");
      if (kind === "bool") { out[name] = f.checked; return; }
      var v = f.value.trim();
      if (kind === "int") { out[name] = v ? parseInt(v, 10) : null; return; }
      out[name] = v === "" ? null : v;
    });
    return out;
  }
  function failed(form, e, sel) {
    var box = $(sel || "p.error", form);
    $$("[aria-invalid]", form).forEach(function (f) { f.removeAttribute("aria-invalid"); });
    if (Array.isArray(e.detail)) {
      e.detail.forEach(function (d) {
        var name = d.loc[d.loc.length - 1];
        var f = form.elements[name];
        if (f && f.setAttribute) f.setAttribute("aria-invalid", "true");
      });
    }
    if (box) { box.textContent = e.message; box.hidden = false; } else { K.tell(e.message); }
  }
  function ok(form) {
    var box = $("p.error", form);
    if (box) box.hidden = true;
    $$("[aria-invalid]", form).forEach(function (f) { f.removeAttribute("aria-invalid"); });
  }
  // a search box that offers rows below it; a tap picks one
  function picker(input, box, url, onPick) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      onPick(null);
      if (q.length < 2) { box.innerHTML = ""; return; }
      timer = setTimeout(function () {
        K.api("GET", url + encodeURIComponent(q)).then(function (j) {
          box.innerHTML = "";
          if (!j.items.length) { box.appendChild(el("p", {"class": "hint"}, T.nothing)); return; }
          j.items.slice(0, 8).forEach(function (it) {
            var label = it.name + (it.code ? " · " + it.code : "");
            box.appendChild(el("button", {type: "button", "class": "pick-row",
              "data-testid": "pick-row", onclick: function () {
                input.value = it.name; box.innerHTML = ""; onPick(it); }}, label));
          });
        }).catch(function (e) { box.textContent = e.message; });
      }, 250);
    });
  }
  var CLIENTS = "/api/v1/clients?per_page=8&q=";
  var PRODUCTS = "/api/v1/products/search?q=";

  var PR = {};
  // ---- lists ----------------------------------------------------------------------------
  PR.saveList = function (form, id) {
    var body = values(form);
    if (id === null) {
      K.api("POST", "/api/v1/price-lists", body).then(function (j) {
        window.location.href = "/app/prices/" + j.id; }).catch(function (e) { failed(form, e); });
    } else {
      if (!body.is_default) delete body.is_default;
      K.api("PATCH", "/api/v1/price-lists/" + id, body).then(function () {
        window.location.reload(); }).catch(function (e) { failed(form, e); });
    }
    return false;
  };
  PR.archiveList = function (id, on) {
    if (on && !window.confirm(T.sure_archive || "?")) return;
    K.api("PATCH", "/api/v1/price-lists/" + id, {archived: on}).then(function () {
      window.location.reload(); }).catch(function (e) { K.tell(e.message); });
  };
  PR.setCategory = function (form) {
    K.api("POST", "/api/v1/client-category-lists", values(form)).then(function () {
      window.location.reload(); }).catch(function (e) { failed(form, e); });
    return false;
  };
  PR.removeCategory = function (id) {
    K.api("DELETE", "/api/v1/client-category-lists/" + id).then(function () {
      window.location.reload(); }).catch(function (e) { K.tell(e.message); });
  };

  // ---- a list's page: rules, prices, try a price ---------------------------------------
  function ruleText(r) {
    var parts = [];
    var m = T.methods[r.method];
    parts.push(r.method === "fixed" ? m + ": " + money(r.value) : m.replace(/,?\s*%$/, "") + " " + num(r.value) + " %");
    if (r.method !== "fixed") parts.push(T.bases[r.base] + (r.base_list ? " «" + r.base_list + "»" : ""));
    parts.push(r.scope === "all" ? T.scopes.all : (r.product || r.category));
    if (r.min_qty) parts.push(fill(T.from_qty, {qty: num(r.min_qty)}));
    if (r.surcharge) parts.push(fill(T.surcharge, {value: num(r.surcharge)}));
    if (r.rounding) parts.push(fill(T.rounding, {value: num(r.rounding)}));
    if (r.min_margin) parts.push(fill(T.margin, {value: num(r.min_margin)}));
    if (r.valid_from || r.valid_to) parts.push(fill(T.period, {start: day(r.valid_from), end: day(r.valid_to)}));
    if (r.client_node) parts.push(r.client_node);
    if (r.client_status) parts.push(T.statuses[r.client_status]);
    if (r.final) parts.push("⏹ " + T.final);
    return parts.join(" · ");
  }
  function renderRules() {
    var ul = $("[data-testid=rules]");
    ul.innerHTML = "";
    var live = DATA.rules.filter(function (r) { return !r.archived; });
    DATA.rules.forEach(function (r, i) {
      var li = el("li", {"class": "row", "data-testid": "rule-card", "data-id": r.id});
      var main = el("div", {"class": "main"});
      var n = live.indexOf(r);
      main.appendChild(el("div", {"class": "name"}, (n >= 0 ? (n + 1) + ". " : "") +
        (r.name || fill(T.rule_untitled, {n: i + 1})) + (r.archived ? " · 🗄" : "")));
      main.appendChild(el("div", {"class": "sub", "data-testid": "rule-summary"}, ruleText(r)));
      if (DATA.admin) {
        var acts = el("div", {"class": "actions"});
        if (!r.archived) {
          acts.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "rule-edit",
            onclick: function () { PR.editRule(r.id); }}, "✏️"));
          acts.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "rule-up",
            "aria-label": "up", onclick: function () { PR.moveRule(r.id, "up"); }}, "⬆"));
          acts.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "rule-down",
            "aria-label": "down", onclick: function () { PR.moveRule(r.id, "down"); }}, "⬇"));
          acts.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "rule-archive",
            onclick: function () { PR.archiveRule(r.id, true); }}, "🗄"));
        } else {
          acts.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "rule-restore",
            onclick: function () { PR.archiveRule(r.id, false); }}, "↩️"));
        }
        main.appendChild(acts);
      }
      li.appendChild(main);
      ul.appendChild(li);
    });
    if (!DATA.rules.length) ul.appendChild(el("li", {"class": "hint"}, "—"));
  }
  function putRule(rule) {
    var i = DATA.rules.findIndex(function (r) { return r.id === rule.id; });
    if (i >= 0) DATA.rules[i] = rule; else DATA.rules.push(rule);
    DATA.rules.sort(function (a, b) { return (a.archived - b.archived) || (a.position - b.position) || (a.id - b.id); });
    renderRules();
  }
  PR.ruleShape = function (form) {
    var v = values(form, ["method", "base", "scope"]);
    $$("[data-shows]", form).forEach(function (x) {
      var s = x.getAttribute("data-shows");
      x.hidden = !((s === "percent" && v.method !== "fixed") ||
                   (s === "other" && v.method !== "fixed" && v.base === "other") ||
                   (s === v.scope));
    });
  };
  PR.editRule = function (id) {
    var dlg = $("#rule-sheet");
    var form = $("form", dlg);
    var r = DATA.rules.find(function (x) { return x.id === id; }) ||
      {method: "discount", base: "list", scope: "all", value: ""};
    form.reset();
    ok(form);
    $("[data-testid=rule-warning]", form).hidden = true;
    form.setAttribute("data-id", id === null ? "" : id);
    $("h2", dlg).textContent = id === null ? T.new_rule : T.edit_rule;
    ["name", "value", "min_qty", "min_margin", "surcharge", "valid_from", "valid_to"].forEach(function (k) {
      form.elements[k].value = r[k] ? (/^\d+\.\d+$/.test(r[k]) ? r[k].replace(/\.?0+$/, "") : r[k]) : ""; });
    form.elements.rounding.value = r.rounding ? (r.rounding === "0.10" ? "0.10" : String(Number(r.rounding))) : "";
    form.elements.base_list_id.value = r.base_list_id || "";
    form.elements.category_id.value = r.category_id || (form.elements.category_id.options[0] || {}).value || "";
    form.elements.client_node_id.value = r.client_node_id || "";
    form.elements.client_status.value = r.client_status || "";
    form.elements.product_id.value = r.product_id || "";
    form.elements.product_q.value = r.product || "";
    form.elements.final.checked = !!r.final;
    ["method", "base", "scope"].forEach(function (k) {
      $$("input[name=" + k + "]", form).forEach(function (x) { x.checked = x.value === r[k]; }); });
    PR.ruleShape(form);
    if (!dlg.open) dlg.showModal();
  };
  PR.saveRule = function (form) {
    var id = form.getAttribute("data-id");
    var body = values(form, ["name", "method", "base", "base_list_id", "value", "min_qty",
      "min_margin", "surcharge", "rounding", "valid_from", "valid_to", "scope", "product_id",
      "category_id", "client_node_id", "client_status", "final"]);
    if (body.scope !== "product") body.product_id = null;
    if (body.scope !== "category") body.category_id = null;
    if (body.scope === "product" && !body.product_id) {
      failed(form, {message: T.choose_product, detail: [{loc: ["body", "product_q"]}]}, "[data-testid=rule-error]");
      return false;
    }
    if (body.base !== "other") body.base_list_id = null;
    body.client_status = body.client_status || "";
    var call = id ? K.api("PATCH", "/api/v1/price-rules/" + id, body)
                  : K.api("POST", "/api/v1/price-lists/" + DATA.list.id + "/rules", body);
    call.then(function (j) {
      putRule(j.rule);
      ok(form);
      if (j.warnings.length) {  // saved; the sheet stays open to say what to look at
        form.setAttribute("data-id", j.rule.id);
        var w = $("[data-testid=rule-warning]", form);
        w.textContent = "⚠️ " + j.warnings.join(" "); w.hidden = false;
        return;
      }
      $("#rule-sheet").close();
    }).catch(function (e) { failed(form, e, "[data-testid=rule-error]"); });
    return false;
  };
  PR.moveRule = function (id, dir) {
    K.api("POST", "/api/v1/price-rules/" + id + "/move", {direction: dir}).then(function (j) {
      var archived = DATA.rules.filter(function (r) { return r.archived; });
      DATA.rules = j.items.concat(archived);
      renderRules();
    }).catch(function (e) { K.tell(e.message); });
  };
  PR.archiveRule = function (id, on) {
    if (on && !window.confirm(T.sure_archive)) return;
    K.api("PATCH", "/api/v1/price-rules/" + id, {archived: on}).then(function (j) {
      putRule(j.rule); }).catch(function (e) { K.tell(e.message); });
  };
  var page = 1;
  PR.prices = function (reset) {
    var ul = $("[data-testid=prices]");
    if (reset) page = 1; else page += 1;
    var q = $("[data-testid=prices-q]").value.trim();
    var only = $("[data-testid=prices-only]").checked;
    var url = "/api/v1/price-lists/" + DATA.list.id + "/prices?page=" + page +
      (q ? "&q=" + encodeURIComponent(q) : "") + (only ? "&only_priced=true" : "");
    K.api("GET", url).then(function (j) {
      if (reset) ul.innerHTML = "";
      j.items.forEach(function (it) { ul.appendChild(priceRow(it)); });
      if (reset && !j.items.length) ul.appendChild(el("li", {"class": "hint"}, T.nothing));
      $("[data-testid=prices-more]").hidden = !j.more;
    }).catch(function (e) { ul.textContent = e.message; });
  };
  function priceRow(it) {
    var li = el("li", {"class": "row", "data-testid": "price-row"});
    var main = el("div", {"class": "main"});
    main.appendChild(el("div", {"class": "name"}, it.name + (it.code ? " · " + it.code : "")));
    var cur = DATA.list.currency;
    var text = it.price !== null ? cash(it.price, cur)
      : it.inherited !== null ? cash(it.inherited, cur) + " · " + fill(T.from_list, {list: it.from_list})
      : T.no_price;
    var sub = el("div", {"class": "sub", "data-testid": "price-text"}, text + " / " + it.unit);
    main.appendChild(sub);
    if (DATA.admin) {
      var form = el("form", {"class": "edit toolbar", hidden: ""});
      var input = el("input", {name: "price", inputmode: "decimal", "data-testid": "price-input"});
      input.value = it.price !== null ? it.price : "";
      form.appendChild(input);
      form.appendChild(el("button", {type: "submit", "class": "chip"}, "💾"));
      var err = el("p", {"class": "error", hidden: ""});
      form.onsubmit = function () {
        K.api("PUT", "/api/v1/price-lists/" + DATA.list.id + "/prices/" + it.product_id,
              {price: input.value.trim() || null}).then(function (j) {
          li.replaceWith(priceRow(j)); }).catch(function (e) { err.textContent = e.message; err.hidden = false; });
        return false;
      };
      main.appendChild(form);
      main.appendChild(err);
      li.appendChild(main);
      li.appendChild(el("button", {type: "button", "class": "chip", "data-testid": "price-edit",
        onclick: function () { form.hidden = !form.hidden; if (!form.hidden) input.focus(); }}, "✏️"));
    } else {
      li.appendChild(main);
    }
    return li;
  }
  PR.tryPrice = function (form) {
    var v = values(form);
    var box = $("[data-testid=try-result]");
    if (!v.client_id) { failed(form, {message: T.choose_client, detail: [{loc: ["body", "client_q"]}]}, "[data-testid=try-error]"); return false; }
    if (!v.product_id) { failed(form, {message: T.choose_product, detail: [{loc: ["body", "product_q"]}]}, "[data-testid=try-error]"); return false; }
    var url = "/api/v1/price-try?client_id=" + v.client_id + "&product_id=" + v.product_id +
      "&quantity=" + encodeURIComponent(v.quantity || "1") +
      (form.elements.this_list.checked ? "&list_id=" + DATA.list.id : "");
    K.api("GET", url).then(function (j) {
      ok(form);
      box.innerHTML = "";
      box.appendChild(el("p", {"class": "name", "data-testid": "try-price"},
        cash(j.price, j.currency) + " × " + num(j.quantity) + " = " + cash(j.amount, j.currency)));
      box.appendChild(el("p", {"class": "hint"}, "«" + j.price_list + "»"));
      var ol = el("ol", {"class": "timeline", "data-testid": "try-trace"});
      j.trace.forEach(function (s) {
        var about = s.about || {};
        var words = fill(T.steps[s.step] || s.step, {list: about.list, rule: about.rule,
          group: about.group, promo: about.promo, value: num(about.value)});
        ol.appendChild(el("li", {}, words + " → " + money(s.price)));
      });
      box.appendChild(ol);
      box.hidden = false;
    }).catch(function (e) { box.hidden = true; failed(form, e, "[data-testid=try-error]"); });
    return false;
  };
  PR.listPage = function () {
    T = JSON.parse($("#prices-i18n").textContent);
    DATA = JSON.parse($("#prices-data").textContent);
    renderRules();
    PR.prices(true);
    var tf = $("[data-testid=try-form]");
    picker(tf.elements.client_q, $(".picks[data-for=client]", tf), CLIENTS, function (it) {
      tf.elements.client_id.value = it ? it.id : ""; });
    picker(tf.elements.product_q, $(".picks[data-for=product]", tf), PRODUCTS, function (it) {
      tf.elements.product_id.value = it ? it.id : ""; });
    var rf = $("[data-testid=rule-form]");
    if (rf) {
      picker(rf.elements.product_q, $(".picks[data-for=rule-product]", rf), PRODUCTS, function (it) {
        rf.elements.product_id.value = it ? it.id : ""; });
      $("#rule-sheet").addEventListener("click", function (e) {
        if (e.target === e.currentTarget) e.currentTarget.close(); });
    }
  };

  // ---- discounts and promos --------------------------------------------------------------
  PR.saveGroup = function (form, id) {
    var body = values(form, ["name", "combine"]);
    body.rates = $$("input[data-rate]", form).map(function (f) {
      var k = f.getAttribute("data-rate");
      return {kind_id: k ? parseInt(k, 10) : null, percent: f.value.trim() || null};
    });
    var call = id ? K.api("PATCH", "/api/v1/discount-groups/" + id, body)
                  : K.api("POST", "/api/v1/discount-groups", body);
    call.then(function () { window.location.reload(); }).catch(function (e) { failed(form, e); });
    return false;
  };
  PR.archiveGroup = function (id, on) {
    K.api("PATCH", "/api/v1/discount-groups/" + id, {archived: on}).then(function () {
      window.location.reload(); }).catch(function (e) { K.tell(e.message); });
  };
  PR.discountsPage = function () {
    T = JSON.parse($("#prices-i18n").textContent);
    DATA = JSON.parse($("#prices-data").textContent);
    var pf = $("[data-testid=promo-form]");
    if (pf) {
      picker(pf.elements.product_q, $(".picks[data-for=promo-product]", pf), PRODUCTS, function (it) {
        pf.elements.product_id.value = it ? it.id : ""; });
    }
  };
  PR.promoShape = function (form) {
    var scope = values(form, ["scope"]).scope;
    $$("[data-shows]", form).forEach(function (x) { x.hidden = x.getAttribute("data-shows") !== scope; });
  };
  PR.editPromo = function (id) {
    var dlg = $("#promo-sheet");
    var form = $("form", dlg);
    var p = DATA.promos[id] || {scope: "all", percent: "", name: "", starts: "", ends: ""};
    form.reset();
    ok(form);
    form.setAttribute("data-id", id || "");
    ["name", "starts", "ends", "min_qty"].forEach(function (k) { form.elements[k].value = p[k] || ""; });
    form.elements.percent.value = p.percent ? String(Number(p.percent)) : "";
    form.elements.product_id.value = p.product_id || "";
    form.elements.product_q.value = p.scope === "product" ? p.target : "";
    if (p.category_id) form.elements.category_id.value = p.category_id;
    if (p.kind_id) form.elements.kind_id.value = p.kind_id;
    $$("input[name=scope]", form).forEach(function (x) { x.checked = x.value === p.scope; });
    PR.promoShape(form);
    dlg.showModal();
  };
  PR.savePromo = function (form) {
    var id = form.getAttribute("data-id");
    var body = values(form, ["name", "percent", "starts", "ends", "min_qty", "scope",
                             "product_id", "category_id", "kind_id"]);
    ["product", "category", "kind"].forEach(function (k) { if (body.scope !== k) delete body[k + "_id"]; });
    var call = id ? K.api("PATCH", "/api/v1/promos/" + id, body) : K.api("POST", "/api/v1/promos", body);
    call.then(function () { window.location.reload(); }).catch(function (e) { failed(form, e); });
    return false;
  };
  PR.archivePromo = function (id, on) {
    K.api("PATCH", "/api/v1/promos/" + id, {archived: on}).then(function () {
      window.location.reload(); }).catch(function (e) { K.tell(e.message); });
  };
  PR.effect = function (form, id) {
    var v = values(form);
    var box = $("[data-testid=effect]", form.parentNode);
    var url = "/api/v1/promos/" + id + "/effect?" + (v.start ? "start=" + v.start + "&" : "") +
      (v.end ? "end=" + v.end : "");
    K.api("GET", url).then(function (j) {
      ok(form);
      box.innerHTML = "";
      var table = el("table", {"class": "report stack"});
      var head = el("tr");
      ["", T.orders, T.revenue, T.margin_sum, T.average, T.margin_pct].forEach(function (h) {
        head.appendChild(el("th", {}, h)); });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var tbody = el("tbody");
      [[T.with_promo, j.with_promo], [T.without, j.without]].forEach(function (pair) {
        if (!pair[1].length) {
          var tr = el("tr"); tr.appendChild(el("td", {}, pair[0]));
          tr.appendChild(el("td", {}, T.no_orders)); tbody.appendChild(tr);
        }
        pair[1].forEach(function (e) {
          var tr = el("tr", {"data-testid": "effect-row"});
          tr.appendChild(el("td", {}, pair[0] + " · " + e.currency));
          [[T.orders, e.orders], [T.revenue, money(e.revenue)], [T.margin_sum, money(e.margin)],
           [T.average, money(e.average)], [T.margin_pct, e.margin_percent === null ? "—" : num(e.margin_percent)]
          ].forEach(function (c) { tr.appendChild(el("td", {"data-label": c[0]}, c[1])); });
          tbody.appendChild(tr);
        });
      });
      table.appendChild(tbody);
      box.appendChild(table);
    }).catch(function (e) { failed(form, e); });
    return false;
  };

  // ---- matrices ---------------------------------------------------------------------------
  var mpage = 1;
  PR.matrix = function (reset) {
    var sphere = $("[data-testid=sphere]").value;
    var ul = $("[data-testid=matrix]");
    if (!sphere) return;
    if (reset) mpage = 1; else mpage += 1;
    var q = $("[data-testid=matrix-q]").value.trim();
    var only = $("[data-testid=matrix-only]").checked;
    K.api("GET", "/api/v1/matrix/spheres/" + sphere + "/products?page=" + mpage +
          (q ? "&q=" + encodeURIComponent(q) : "") + (only ? "&only_on=true" : "")).then(function (j) {
      if (reset) ul.innerHTML = "";
      j.items.forEach(function (it) {
        var li = el("li", {"class": "row"});
        var label = el("label", {"class": "pick main", "data-testid": "matrix-row"});
        var box = el("input", {type: "checkbox"});
        box.checked = it.on;
        box.onchange = function () {
          K.api("PUT", "/api/v1/matrix/spheres/" + sphere + "/products/" + it.product_id, {on: box.checked})
            .catch(function (e) { box.checked = !box.checked; K.tell(e.message); });
        };
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + it.name + (it.code ? " · " + it.code : "")));
        li.appendChild(label);
        ul.appendChild(li);
      });
      if (reset && !j.items.length) ul.appendChild(el("li", {"class": "hint"}, T.nothing));
      $("[data-testid=matrix-more]").hidden = !j.more;
    }).catch(function (e) { ul.textContent = e.message; });
  };
  PR.track = function (id, on) {
    return K.api("PUT", "/api/v1/my-products/" + id, {on: on}).then(function () {
      window.location.reload(); }).catch(function (e) { K.tell(e.message); });
  };
  PR.matrixPage = function () {
    T = JSON.parse($("#prices-i18n").textContent);
    if ($("[data-testid=sphere]")) PR.matrix(true);
    var input = $("[data-testid=mine-q]");
    picker(input, $(".picks[data-for=mine]"), PRODUCTS, function (it) { if (it) PR.track(it.id, true); });
  };

  // ---- the client card's terms ------------------------------------------------------------
  PR.saveTerms = function (form, clientId) {
    var body = values(form);
    body.price_list_id = body.price_list_id || 0;
    body.discount_group_id = body.discount_group_id || 0;
    K.api("PUT", "/api/v1/clients/" + clientId + "/terms", body).then(function () {
      ok(form);
      var done = $("[data-testid=terms-saved]", form);
      if (done) done.hidden = false;
    }).catch(function (e) { failed(form, e); });
    return false;
  };
  window.PR = PR;
})();

/* K-9 motivation: the scheme editor (steps as rows: add a row, remove a row), archive
   and delete; a statement's lines opening to their records (a page at a time, each
   linking to its order, deal or client), approve and reopen. Everything goes through
   /api/v1/bonus-schemes and /api/v1/bonus-statements; what was typed stays in the form
   when something is refused. */
(function () {
  "use strict";
  var k = window.kontakt;

  function showFor(form) {
    var metric = form.elements.metric.value, reach = form.elements.reach.value;
    Array.prototype.forEach.call(form.querySelectorAll("[data-show]"), function (el) {
      el.hidden = el.dataset.show !== metric;
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-reach]"), function (el) {
      el.hidden = el.dataset.reach !== reach;
    });
  }
  k.schemeMetric = showFor;

  k.addStep = function (form) {
    var rows = form.querySelector("[data-testid=step-rows]");
    var all = rows.querySelectorAll("[data-testid=step-row]");
    var last = all[all.length - 1];
    var row = last.cloneNode(true);
    Array.prototype.forEach.call(row.querySelectorAll("input"), function (el) { el.value = ""; });
    // the new row starts where the last one ends
    row.querySelector("[name=lower]").value = last.querySelector("[name=upper]").value;
    rows.appendChild(row);
    row.querySelector("[name=upper]").focus();
  };

  k.removeStep = function (button) {
    var row = button.closest("[data-testid=step-row]");
    var rows = row.parentNode;
    if (rows.querySelectorAll("[data-testid=step-row]").length > 1) rows.removeChild(row);
    else Array.prototype.forEach.call(row.querySelectorAll("input"), function (el) { el.value = ""; });
  };

  k.saveScheme = function (form) {
    var err = form.querySelector("[data-testid=scheme-error]");
    var f = form.elements;
    var steps = Array.prototype.map.call(form.querySelectorAll("[data-testid=step-row]"),
      function (row) {
        return {lower: row.querySelector("[name=lower]").value.trim(),
                upper: row.querySelector("[name=upper]").value.trim(),
                value: row.querySelector("[name=value]").value.trim()};
      });
    var people = Array.prototype.filter.call(form.querySelectorAll("input[name=people]"),
      function (el) { return el.checked; }).map(function (el) { return parseInt(el.value, 10); });
    var body = {name: f.name.value, metric: f.metric.value, kind: f.kind.value,
                base: f.base.value, currency: f.currency.value.trim() || null,
                reach: f.reach.value, steps: steps, people: people,
                active_from: f.active_from.value, active_to: f.active_to.value || null,
                department_id: f.reach.value === "department" && f.department_id.value
                  ? parseInt(f.department_id.value, 10) : null,
                activity_type_id: f.metric.value === "activities" && f.activity_type_id.value
                  ? parseInt(f.activity_type_id.value, 10) : null};
    var id = form.dataset.id;
    err.hidden = true;
    k.api(id ? "PUT" : "POST", "/api/v1/bonus-schemes" + (id ? "/" + id : ""), body)
      .then(function () { window.location.href = "/app/motivation"; })
      .catch(function (e) {
        // one message per line: the rows of the scale each on their own
        err.textContent = Array.isArray(e.detail) ? e.detail.map(function (d) {
          return (d.field ? d.field + ": " : "") + d.msg; }).join("\n") : e.message;
        err.hidden = false;
        err.scrollIntoView({block: "nearest"});
      });
    return false;
  };

  k.archiveScheme = function (id, archived) {
    k.api("POST", "/api/v1/bonus-schemes/" + id + "/archive", {archived: archived})
      .then(function () { window.location.reload(); })
      .catch(function (e) { k.tell(e.message); });
  };

  k.deleteScheme = function (id, ask) {
    if (!window.confirm(ask)) return;
    k.api("DELETE", "/api/v1/bonus-schemes/" + id)
      .then(function () { window.location.href = "/app/motivation"; })
      .catch(function (e) { k.tell(e.message); });
  };

  function link(item) {
    if (item.kind === "order") return "/app/orders/" + item.id;
    if (item.kind === "deal") return "/app/deals/" + item.id;
    if (item.kind === "payment" || item.kind === "invoice")
      return item.client_id ? "/app/clients/" + item.client_id + "/ledger" : null;
    return item.client_id ? "/app/clients/" + item.client_id : null;
  }

  function kinds() {
    var el = document.getElementById("source-kinds");
    try { return JSON.parse(el.dataset.kinds); } catch (e) { return {}; }
  }

  function load(details, offset) {
    var list = details.querySelector("[data-testid=line-sources]");
    var more = details.querySelector("[data-testid=sources-more]");
    var empty = details.querySelector("[data-testid=sources-empty]");
    var names = kinds();
    k.api("GET", details.dataset.url + "?limit=50&offset=" + offset).then(function (page) {
      page.items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "row";
        li.dataset.testid = "source";
        li.setAttribute("data-testid", "source");
        var href = link(item);
        var main = document.createElement(href ? "a" : "span");
        if (href) main.href = href;
        main.textContent = (names[item.kind] || item.kind) + " · " + item.label;
        var sub = document.createElement("div");
        sub.className = "sub hint";
        var amount = item.amount_text || "";
        sub.textContent = (item.at || "").slice(0, 10) + (amount ? " · " + amount : "");
        var box = document.createElement("div");
        box.className = "main";
        box.appendChild(main);
        box.appendChild(sub);
        li.appendChild(box);
        list.appendChild(li);
      });
      details.dataset.loaded = String(offset + page.items.length);
      more.hidden = offset + page.items.length >= page.total;
      empty.hidden = page.total > 0;
    }).catch(function (e) { k.tell(e.message); });
  }

  k.loadSources = function (details) {
    if (details.open && !details.dataset.loaded) { details.dataset.loaded = "0"; load(details, 0); }
  };
  k.moreSources = function (button) {
    var details = button.closest("details");
    load(details, parseInt(details.dataset.loaded || "0", 10));
  };

  k.statementAct = function (button, action) {
    var err = document.querySelector("[data-testid=statement-error]");
    err.hidden = true;
    button.disabled = true;
    k.api("POST", button.dataset.url + "/" + action)
      .then(function () { window.location.reload(); })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; button.disabled = false; });
  };

  var form = document.querySelector("[data-testid=scheme-form]");
  if (form) showFor(form);
})();

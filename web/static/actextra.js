/* The activity form's further fields (S-12, S-14, S-15, S-16, S-21, A-7, A-8, K-15):
   client (searched as one types), contact person, assignees, category, product, percent
   done, repeating, reminder lead times, the activity's custom fields; postpone, cancel,
   reopen and verify. calendar.js calls fill() when the form opens, body() when it is
   saved, and afterSave() once the activity has an id. */
(function () {
  "use strict";
  var api = window.kontakt.api;
  var X = {people: [], categories: [], products: [], fields: [], clients: {},
           touched: {}, current: null};
  var $ = function (id) { return document.getElementById(id); };
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; });
  }
  function T() { return JSON.parse($("actx-i18n").textContent); }
  function form() { return $("act-form"); }
  function options(list, current, empty) {
    return (empty !== undefined ? '<option value="">' + esc(empty) + "</option>" : "") +
      list.map(function (x) {
        return '<option value="' + x.id + '"' + (String(x.id) === String(current) ?
          " selected" : "") + ">" + esc(x.name) + "</option>"; }).join("");
  }

  function init(types) {
    X.categories = types.categories || [];
    return Promise.all([
      api("GET", "/api/v1/assignable-people").catch(function () { return {items: []}; }),
      api("GET", "/api/v1/products").catch(function () { return {items: []}; }),
      api("GET", "/api/v1/custom-fields/activity").catch(function () { return {items: []}; })
    ]).then(function (r) {
      X.people = r[0].items; X.products = r[1].items; X.fields = r[2].items;
      wire();
    });
  }

  function wire() {
    var f = form(), timer = null;
    f.elements.client_search.addEventListener("input", function () {
      clearTimeout(timer);
      var q = f.elements.client_search.value.trim();
      var known = X.clients[q];
      if (known) { pickClient(known); return; }
      f.elements.client_id.value = "";
      $("actx-client-hint").hidden = !q;
      if (q.length < 2) return;
      timer = setTimeout(function () {
        api("GET", "/api/v1/clients?per_page=10&q=" + encodeURIComponent(q)).then(function (j) {
          $("act-clients").innerHTML = j.items.map(function (c) {
            X.clients[c.name] = c.id;
            return '<option value="' + esc(c.name) + '"></option>'; }).join("");
          if (X.clients[f.elements.client_search.value.trim()])
            pickClient(X.clients[f.elements.client_search.value.trim()]);
        }).catch(function () { /* the hint says to choose */ });
      }, 250);
    });
    ["assignees", "repeat"].forEach(function (k) {
      f.elements[k].addEventListener("change", function () { X.touched[k] = true; }); });
    f.querySelectorAll("[name=reminder]").forEach(function (el) {
      el.addEventListener("change", function () { X.touched.reminders = true; }); });
    $("act-postpone").addEventListener("click", function () { state("postponed"); });
    $("act-cancel-it").addEventListener("click", function () { state("cancelled"); });
    $("act-reopen").addEventListener("click", function () { state("planned"); });
    $("act-verify").addEventListener("click", function () {
      act(api("POST", "/api/v1/activities/" + X.current.id + "/verify")); });
  }

  function pickClient(id, name, contactId) {
    var f = form();
    if (id && String(id) === f.elements.client_id.value && contactId === undefined)
      return Promise.resolve();  // chosen already: the contact picked stays
    f.elements.client_id.value = id || "";
    $("actx-client-hint").hidden = true;
    if (name !== undefined) f.elements.client_search.value = name;
    var sel = f.elements.contact_id;
    sel.innerHTML = "";
    sel.closest("label").hidden = !id;
    if (!id) return Promise.resolve();
    return api("GET", "/api/v1/clients/" + id + "/contacts").then(function (j) {
      sel.innerHTML = options(j.items.map(function (c) {
        return {id: c.id, name: [c.last_name, c.first_name, c.middle_name].filter(Boolean)
          .join(" ")}; }), contactId, "—");
    }).catch(function () { sel.closest("label").hidden = true; });
  }

  function customInputs(values) {
    $("act-custom").innerHTML = X.fields.map(function (fd) {
      var v = values ? values[fd.code] : null, name = "cf:" + fd.code;
      var input;
      if (fd.type === "bool") input = '<input type="checkbox" name="' + name + '" data-type="bool"' +
        (v ? " checked" : "") + ' style="width:auto">';
      else if (fd.type === "choice" || fd.type === "multichoice") input = '<select name="' + name +
        '" data-type="' + fd.type + '"' + (fd.type === "multichoice" ? " multiple" : "") + ">" +
        (fd.type === "choice" ? '<option value=""></option>' : "") +
        fd.choices.map(function (c) {
          var on = fd.type === "choice" ? v === c.name : (v || []).indexOf(c.name) >= 0;
          return '<option value="' + esc(c.name) + '"' + (on ? " selected" : "") + ">" +
            esc(c.name) + "</option>"; }).join("") + "</select>";
      else input = '<input name="' + name + '" data-type="' + fd.type + '" value="' +
        esc(v == null ? "" : v) + '">';
      return '<label data-testid="act-cf-' + esc(fd.code) + '">' + esc(fd.name) +
        (fd.required ? " *" : "") + (fd.confidential ? " 🔒" : "") + input + "</label>";
    }).join("");
  }

  // the form opens: a new activity (a null) or an existing one
  function fill(a, person) {
    var f = form(), t = T();
    X.current = a; X.touched = {};
    f.elements.assignees.innerHTML = options(X.people, null);
    var chosen = a ? a.assignees.map(function (p) { return String(p.id); }) : [String(person)];
    Array.prototype.forEach.call(f.elements.assignees.options, function (o) {
      o.selected = chosen.indexOf(o.value) >= 0; });
    f.elements.category_id.innerHTML = options(X.categories, a && a.category_id, "—");
    f.elements.product_id.innerHTML = options(X.products, a && a.product_id, "—");
    f.elements.percent.value = a ? a.percent : "";
    f.elements.percent.closest("label").hidden = !a;
    var rule = a && a.rrule ? a.rrule.replace(/^RRULE:/, "") : "";
    var sel = f.elements.repeat, known = Array.prototype.some.call(sel.options, function (o) {
      return o.value === rule; });
    var custom = sel.querySelector("option[data-custom]");
    if (custom) custom.remove();
    if (rule && !known) {
      sel.insertAdjacentHTML("beforeend", '<option data-custom value="' + esc(rule) + '">' +
        esc(t.repeat_as_set) + "</option>");
    }
    sel.value = rule;
    var leads = a ? a.reminders : [];
    f.querySelectorAll("[name=reminder]").forEach(function (el) {
      el.checked = leads.indexOf(parseInt(el.value, 10)) >= 0; });
    f.elements.client_search.value = a && a.client ? a.client.name : "";
    pickClient(a && a.client ? a.client.id : null, undefined, a && a.contact_id);
    if (a && a.client) X.clients[a.client.name] = a.client.id;
    customInputs(null);
    if (a && X.fields.length) api("GET", "/api/v1/activities/" + a.id + "/custom").then(
      function (j) { customInputs(j.values); }).catch(function () { /* shown empty */ });
    var open = a && ["planned", "rescheduled", "postponed"].indexOf(a.state) >= 0;
    $("act-postpone").hidden = !a || a.state !== "planned" && a.state !== "rescheduled";
    $("act-cancel-it").hidden = !open;
    $("act-reopen").hidden = !a || ["postponed", "cancelled", "done"].indexOf(a.state) < 0;
    $("act-verify").hidden = !(a && a.may_verify);
  }

  // what the further fields add to the body of a save; null: a field to clear
  function body(isNew) {
    var f = form(), out = {}, typed = f.elements.client_search.value.trim();
    if (typed && !f.elements.client_id.value) throw new Error(T().choose_client);
    var cid = parseInt(f.elements.client_id.value, 10) || 0;
    var contact = parseInt(f.elements.contact_id.value, 10) || 0;
    var category = parseInt(f.elements.category_id.value, 10) || 0;
    var product = parseInt(f.elements.product_id.value, 10) || 0;
    if (isNew) {
      if (cid) out.client_id = cid;
      if (contact) out.contact_id = contact;
      if (category) out.category_id = category;
      if (product) out.product_id = product;
    } else {
      out.client_id = cid; out.contact_id = cid ? contact : 0;
      out.category_id = category; out.product_id = product;
      var pct = parseInt(f.elements.percent.value, 10);
      if (!isNaN(pct)) out.percent = pct;
    }
    var people = Array.prototype.filter.call(f.elements.assignees.options, function (o) {
      return o.selected; }).map(function (o) { return parseInt(o.value, 10); });
    if (X.touched.assignees || isNew) { if (people.length) out.assignees = people; }
    if (X.touched.repeat) out.rrule = f.elements.repeat.value || (isNew ? undefined : "");
    if (X.touched.reminders) out.reminders = Array.prototype.filter.call(
      f.querySelectorAll("[name=reminder]"), function (el) { return el.checked; })
      .map(function (el) { return parseInt(el.value, 10); });
    Object.keys(out).forEach(function (k) { if (out[k] === undefined) delete out[k]; });
    return out;
  }

  function customValues() {
    var values = {}, any = false;
    form().querySelectorAll("#act-custom [name]").forEach(function (el) {
      var k = el.name.slice(3), t = el.dataset.type;
      any = true;
      if (t === "bool") values[k] = el.checked;
      else if (t === "multichoice") values[k] = Array.prototype.filter.call(el.options,
        function (o) { return o.selected; }).map(function (o) { return o.value; });
      else values[k] = el.value.trim() || null;
    });
    return any ? values : null;
  }
  function afterSave(id) {
    var values = customValues();
    return values ? api("PUT", "/api/v1/activities/" + id + "/custom", {values: values}) :
      Promise.resolve();
  }

  function act(req) {
    req.then(function () { $("act-dialog").close(); window.kontaktCalendar.reload(); })
      .catch(function (e) { $("act-error").textContent = e.message; $("act-error").hidden = false; });
  }
  function state(s) {
    act(api("POST", "/api/v1/activities/" + X.current.id + "/state", {state: s}));
  }

  window.kontaktActivityExtra = {init: init, fill: fill, body: body, afterSave: afterSave};
})();

// The settings page (issue 17): a row's "Change" fills the section's form, archive /
// restore / delete buttons, the segment rule builder (also a classifier group's rule),
// managers picked for a group, the card's sections ticked and ordered, playbook steps
// as rows, the Google key as a file. Rules and checks stay in the services.
(function () {
  "use strict";
  var K = window.kontakt;
  var D = JSON.parse(document.getElementById("admin-data").textContent);
  var L = JSON.parse(document.getElementById("admin-labels").textContent);

  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function fail(form, e) {
    var err = form.querySelector(".error");
    err.textContent = e.message; err.hidden = false;
  }
  function call(form, method, url, body) {
    if (form) form.querySelector(".error").hidden = true;
    return K.api(method, url, body).then(function () { window.location.reload(); },
      function (e) { if (form) fail(form, e); else K.tell(e.message); });
  }
  function rowData(button) {
    return JSON.parse(button.closest("[data-json]").getAttribute("data-json"));
  }
  function editing(form, on) {
    each(form.querySelectorAll("[data-when=new]"), function (x) { x.hidden = on; });
    each(form.querySelectorAll("[data-when=edit]"), function (x) { x.hidden = !on; });
  }
  // what a form says, as JSON: data-kind bool / int / ints (ticked boxes) / lines / opt
  function collect(form) {
    var body = {};
    each(form.elements, function (el) {
      if (!el.name || el.name === "id" || el.disabled || el.closest("[hidden]") ||
          el.closest(".builder, .steps, [data-testid=layout-sections]")) return;
      var kind = el.getAttribute("data-kind"), v = el.value;
      if (kind === "ints") {
        body[el.name] = body[el.name] || [];
        if (el.checked) body[el.name].push(Number(el.value));
        return;
      }
      if (el.type === "file") return;
      if (kind === "bool") v = el.checked;
      else if (kind === "int") v = el.value === "" ? null : Number(el.value);
      else if (kind === "opt") v = el.value.trim() || null;
      else if (kind === "lines") {
        v = el.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean);
        if (!v.length) return;
      }
      var parts = el.name.split(".");
      if (parts.length === 2) { body[parts[0]] = body[parts[0]] || {}; body[parts[0]][parts[1]] = v; }
      else body[el.name] = v;
    });
    return body;
  }
  function fill(form, data) {
    form.reset();
    Object.keys(data).forEach(function (k) {
      var f = form.elements[k];
      if (!f) return;
      if (f.length !== undefined && !f.tagName) {  // a group of boxes
        var wanted = (data[k] || []).map(String);
        each(f, function (box) { box.checked = wanted.indexOf(box.value) >= 0; });
      } else if (f.type === "checkbox" && f.getAttribute("data-kind") === "ints") {
        f.checked = (data[k] || []).map(String).indexOf(f.value) >= 0;
      } else if (f.type === "checkbox") f.checked = !!data[k];
      else f.value = data[k] === null || data[k] === undefined ? "" : data[k];
    });
    form.querySelector(".error").hidden = true;
    editing(form, true);
    form.scrollIntoView({block: "start"});
  }

  // --- the segment rule builder ----------------------------------------------------
  var ORDER = ["ge", "le", "gt", "lt", "eq", "ne"];
  function attributes() {
    var dict = function (code) {
      return (D.dicts[code] || []).map(function (i) { return [String(i.id), i.name]; }); };
    var out = [
      {v: "name", kind: "text", ops: ["contains", "eq", "ne"]},
      {v: "kind", kind: "pick", ops: ["eq", "ne"], options: [["company", L.values.company],
        ["individual", L.values.individual]]},
      {v: "list_type", kind: "pick", ops: ["eq", "ne"], options: [
        ["counterparty", L.values.counterparty], ["partner", L.values.partner]]},
      {v: "completeness", kind: "number", ops: ORDER},
      {v: "created_at", kind: "date", ops: ["ge", "le", "gt", "lt", "eq", "within_days"]},
      {v: "manager_id", kind: "id", ops: ["eq", "ne", "is_set"], options: D.staff.map(
        function (p) { return [String(p.id), p.name]; })},
      {v: "region_id", kind: "id", ops: ["eq", "ne", "is_set"], options: dict("region")},
      {v: "city_id", kind: "id", ops: ["eq", "ne", "is_set"], options: dict("city")},
      {v: "district_id", kind: "id", ops: ["eq", "ne", "is_set"], options: dict("district")},
      {v: "sphere_id", kind: "id", ops: ["eq", "ne", "is_set"], options: dict("sphere")},
      {v: "ad_source_id", kind: "id", ops: ["eq", "ne", "is_set"], options: dict("ad_source")},
      {v: "country", kind: "text", ops: ["eq", "ne", "is_set"]},
      {v: "is_group", kind: "bool", ops: ["eq"]},
      {v: "classifier_node_id", kind: "id", ops: ["eq", "ne"], options: D.nodes.map(
        function (n) { return [String(n.id), n.name]; })}
    ];
    out.forEach(function (a) { a.label = L.attrs[a.v]; a.group = L.client; });
    D.fields.forEach(function (f) {
      var a = {v: "cf:" + f.code, label: f.name, group: L.custom};
      if (f.type === "text") { a.kind = "text"; a.ops = ["contains", "eq", "ne", "is_set"]; }
      else if (f.type === "bool") { a.kind = "bool"; a.ops = ["eq", "is_set"]; }
      else if (f.type === "date") { a.kind = "date"; a.ops = ORDER.concat(["is_set"]); }
      else if (f.type === "choice" || f.type === "multichoice") {
        a.kind = "id"; a.options = f.choices.map(function (c) { return [String(c.id), c.name]; });
        a.ops = f.type === "choice" ? ["eq", "ne", "is_set"] : ["contains", "ne", "is_set"];
      } else { a.kind = "number"; a.ops = ORDER.concat(["is_set"]); }
      out.push(a);
    });
    return out;
  }
  var ATTRS = D.fields ? attributes() : [];
  function attr(v) { return ATTRS.filter(function (a) { return a.v === v; })[0] || ATTRS[0]; }
  function options(select, list, chosen) {
    select.innerHTML = "";
    list.forEach(function (o) {
      var opt = make("option", {value: o[0]}, o[1]);
      if (String(chosen) === o[0]) opt.selected = true;
      select.appendChild(opt);
    });
  }
  function valueBox(row, value) {
    var a = attr(row.querySelector("[data-testid=cond-field]").value);
    var op = row.querySelector("[data-testid=cond-op]").value;
    var holder = row.querySelector(".value"), box;
    holder.innerHTML = "";
    if (op === "is_set" || a.kind === "bool") {
      box = make("select", {"data-testid": "cond-value", "data-kind": "bool"});
      options(box, [["true", L.values.yes], ["false", L.values.no]],
        value === undefined ? "true" : String(value));
    } else if (a.options && op !== "within_days") {
      box = make("select", {"data-testid": "cond-value", "data-kind": a.kind});
      options(box, a.options, value);
    } else {
      var type = op === "within_days" || a.kind === "number" ? "number" :
        a.kind === "date" ? "date" : "text";
      box = make("input", {type: type, "data-testid": "cond-value",
        "data-kind": type === "number" ? "number" : "text"});
      if (type === "number") box.step = "any";
      if (value !== undefined && value !== null) box.value = value;
    }
    holder.appendChild(box);
  }
  function condRow(builder, cond) {
    cond = cond || {};
    var row = make("div", {class: "cond", "data-testid": "cond-row"});
    var field = make("select", {"data-testid": "cond-field", "aria-label": L.attrs.name});
    var groups = {};
    ATTRS.forEach(function (a) {
      if (!groups[a.group]) { groups[a.group] = make("optgroup", {label: a.group}); field.appendChild(groups[a.group]); }
      var o = make("option", {value: a.v}, a.label);
      if (a.v === cond.field) o.selected = true;
      groups[a.group].appendChild(o);
    });
    var op = make("select", {"data-testid": "cond-op"});
    var remove = make("button", {type: "button", class: "chip", "data-testid": "cond-remove",
      "aria-label": L.remove}, "✕");
    row.appendChild(field); row.appendChild(op); row.appendChild(make("span", {class: "value"}));
    row.appendChild(remove);
    function ops(chosen) {
      options(op, attr(field.value).ops.map(function (o) { return [o, L.ops[o]]; }), chosen);
    }
    ops(cond.op);
    valueBox(row, cond.value);
    field.onchange = function () { ops(); valueBox(row); changed(builder); };
    op.onchange = function () { valueBox(row); changed(builder); };
    row.oninput = function () { changed(builder); };
    remove.onclick = function () { row.remove(); changed(builder); };
    builder.querySelector(".conds").appendChild(row);
  }
  function builder(box, rules) {
    rules = Array.isArray(rules) ? {match: "all", conditions: rules} : (rules || {});
    box.innerHTML = "";
    var match = make("select", {"data-testid": "builder-match"});
    options(match, [["all", L.matchAll], ["any", L.matchAny]], rules.match || "all");
    match.onchange = function () { changed(box); };
    var label = make("label", {});
    label.appendChild(match);
    box.appendChild(label);
    box.appendChild(make("div", {class: "conds"}));
    box._kept = [];  // nested groups made elsewhere are kept as they are
    (rules.conditions || []).forEach(function (c) {
      if (c && c.conditions) box._kept.push(c); else condRow(box, c);
    });
    var add = make("button", {type: "button", class: "chip", "data-testid": "builder-add"},
      "➕ " + L.addCondition);
    add.onclick = function () { condRow(box); changed(box); };
    box.appendChild(add);
    box.appendChild(make("p", {class: "hint", "data-testid": "builder-count"}));
    changed(box);
  }
  function readRules(box) {
    var conds = [];
    each(box.querySelectorAll("[data-testid=cond-row]"), function (row) {
      var v = row.querySelector("[data-testid=cond-value]"), kind = v.getAttribute("data-kind");
      var value = v.value;
      if (kind === "bool") value = v.value === "true";
      else if (kind === "id" || kind === "number") value = v.value === "" ? null : Number(v.value);
      conds.push({field: row.querySelector("[data-testid=cond-field]").value,
        op: row.querySelector("[data-testid=cond-op]").value, value: value});
    });
    return {match: box.querySelector("[data-testid=builder-match]").value,
      conditions: conds.concat(box._kept || [])};
  }
  function changed(box) {  // how many clients match now
    clearTimeout(box._count);
    box._count = setTimeout(function () {
      var out = box.querySelector("[data-testid=builder-count]");
      K.api("POST", "/api/v1/segments/count", {rules: readRules(box)}).then(function (j) {
        out.textContent = L.matches + " " + j.members;
      }, function (e) { out.textContent = e.message; });
    }, 250);
  }

  // --- card layout -----------------------------------------------------------------
  function layoutRows(form, chosen) {
    var list = form.querySelector("[data-testid=layout-sections]");
    list.innerHTML = "";
    var order = chosen.concat(D.sections.filter(function (s) { return chosen.indexOf(s) < 0; }));
    order.forEach(function (s) {
      var li = make("li", {class: "row", "data-testid": "layout-row", "data-section": s});
      var label = make("label", {class: "inline main"});
      var box = make("input", {type: "checkbox", "data-testid": "layout-check"});
      box.checked = chosen.indexOf(s) >= 0;
      label.appendChild(box); label.appendChild(document.createTextNode(" " + L.sections[s]));
      var up = make("button", {type: "button", class: "chip", "data-testid": "layout-up",
        "aria-label": L.up}, "↑");
      var down = make("button", {type: "button", class: "chip", "data-testid": "layout-down",
        "aria-label": L.down}, "↓");
      up.onclick = function () { if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling); };
      down.onclick = function () { if (li.nextElementSibling) list.insertBefore(li.nextElementSibling, li); };
      li.appendChild(label); li.appendChild(up); li.appendChild(down);
      list.appendChild(li);
    });
  }

  // --- playbook steps ----------------------------------------------------------------
  function stepRow(form, step) {
    step = step || {offset_days: 0, type: D.types.length ? D.types[0].value : "task"};
    var row = make("fieldset", {class: "attach", "data-testid": "step-row"});
    row.appendChild(make("legend", {class: "hint"}, L.step));
    var title = make("input", {"data-testid": "step-title", maxlength: "300",
      "aria-label": L.step, placeholder: L.stepTitle});
    title.value = step.title || "";
    var type = make("select", {"data-testid": "step-type"});
    options(type, D.types.map(function (t) { return [t.value, t.name]; }), step.type);
    var days = make("input", {type: "number", min: "0", max: "365", "data-testid": "step-days"});
    days.value = step.offset_days;
    var who = make("select", {"data-testid": "step-assignee"});
    options(who, Object.keys(L.assignees).map(function (k) { return [k, L.assignees[k]]; }),
      step.assignee || "applier");
    var remove = make("button", {type: "button", class: "chip", "data-testid": "step-remove"},
      "✕ " + L.remove);
    remove.onclick = function () { row.remove(); };
    [title, type].forEach(function (x) { row.appendChild(x); });
    var l1 = make("label", {}, L.days); l1.appendChild(days); row.appendChild(l1);
    var l2 = make("label", {}, L.who); l2.appendChild(who); row.appendChild(l2);
    row.appendChild(remove);
    form.querySelector(".steps").appendChild(row);
  }

  window.adm = {
    // a plain form: POST to url, or (its id set) method to url/id
    save: function (form, method, url, editMethod) {
      var id = form.elements.id && form.elements.id.value;
      call(form, id ? editMethod : method, id ? url + "/" + id : url, collect(form));
      return false;
    },
    patch: function (url, body) { call(null, "PATCH", url, body); },
    remove: function (url) { if (window.confirm(L.sure)) call(null, "DELETE", url); },
    edit: function (button, formId) {
      fill(document.querySelector("[data-testid=" + formId + "]"), rowData(button));
    },
    cancel: function (form) {
      form.reset(); form.elements.id.value = ""; editing(form, false);
      form.querySelector(".error").hidden = true;
      if (form.dataset.testid === "segment-form") builder(form.querySelector(".builder"));
      if (form.dataset.testid === "node-form") { adm.nodeKind(form); }
      if (form.dataset.testid === "playbook-form") { form.querySelector(".steps").innerHTML = ""; stepRow(form); }
      if (form.dataset.testid === "field-form") adm.fieldType(form);
    },
    // custom fields: no code to type (made from the name), readable types
    fieldType: function (form) {
      var t = form.elements.type.value;
      form.querySelector("[data-only=choice]").hidden = !(t === "choice" || t === "multichoice");
    },
    editField: function (button) {
      var form = document.querySelector("[data-testid=field-form]"), data = rowData(button);
      fill(form, data);
    },
    saveField: function (form) {
      var id = form.elements.id.value, body = collect(form);
      if (id) { delete body.entity; delete body.type; delete body.items; }
      call(form, id ? "PATCH" : "POST", "/api/v1/custom-fields" + (id ? "/" + id : ""), body);
      return false;
    },
    // dictionaries: the chosen list, its values changed, moved, archived
    showDictionary: function (code, quiet) {
      var select = document.getElementById("dict-select");
      select.value = code;
      each(document.querySelectorAll("[data-dict]"), function (ul) { ul.hidden = ul.getAttribute("data-dict") !== code; });
      var form = document.querySelector("[data-testid=dict-form]");
      var parent = D.parents[code] ? D.parents[code][0] : null;
      var list = (D.dicts[parent || code] || []);
      options(form.elements.parent_id, [["", L.top]].concat(list.map(function (i) {
        return [String(i.id), i.name]; })));
      form.querySelector("[data-testid=item-parent-label]").hidden = !parent && !list.some(
        function (i) { return i.parent_id; });
      if (!quiet) select.closest("section").scrollIntoView({block: "start"});
    },
    editItem: function (button) {
      var form = document.querySelector("[data-testid=dict-form]"), data = rowData(button);
      var select = form.elements.parent_id;
      if (data.parent_id && !select.querySelector("option[value='" + data.parent_id + "']")) {
        // a parent not offered (archived, or past the list's length) stays where it is
        var sub = button.closest(".row").querySelector(".sub");
        select.appendChild(make("option", {value: String(data.parent_id)}, sub ? sub.textContent : "…"));
      }
      fill(form, data);
    },
    saveItem: function (form) {
      var id = form.elements.id.value, body = collect(form);
      if (form.querySelector("[data-testid=item-parent-label]").hidden) delete body.parent_id;
      call(form, id ? "PATCH" : "POST", id ? "/api/v1/dictionary-items/" + id :
        "/api/v1/dictionaries/" + document.getElementById("dict-select").value, body);
      return false;
    },
    // classifier: rule by pickers
    nodeKind: function (form) {
      var kind = form.elements.kind.value;
      each(form.querySelectorAll("[data-only]"), function (x) { x.hidden = x.getAttribute("data-only") !== kind; });
    },
    editNode: function (button) {
      var form = document.querySelector("[data-testid=node-form]"), data = rowData(button);
      fill(form, {id: data.id, name: data.name, parent_id: data.parent_id, kind: data.kind,
        manager_ids: data.kind === "by_manager" && data.rule ? data.rule.manager_ids : []});
      builder(form.querySelector(".builder"), data.kind === "by_field" ? data.rule : null);
      adm.nodeKind(form);
    },
    saveNode: function (form) {
      var id = form.elements.id.value, body = collect(form), kind = body.kind;
      body.rule = kind === "by_manager" ? {manager_ids: body.manager_ids} :
        kind === "by_field" ? readRules(form.querySelector(".builder")) : null;
      delete body.manager_ids;
      call(form, id ? "PATCH" : "POST", "/api/v1/classifier" + (id ? "/" + id : ""), body);
      return false;
    },
    // segments: the rule builder
    editSegment: function (button) {
      var form = document.querySelector("[data-testid=segment-form]"), data = rowData(button);
      fill(form, {id: data.id, name: data.name, shared: data.shared});
      builder(form.querySelector(".builder"), data.rules);
    },
    saveSegment: function (form) {
      var id = form.elements.id.value, body = collect(form);
      body.rules = readRules(form.querySelector(".builder"));
      call(form, id ? "PUT" : "POST", "/api/v1/segments" + (id ? "/" + id : ""), body);
      return false;
    },
    // card layout: whose, then ticked sections in order
    showLayout: function (form) {
      var target = form.elements.target.value;
      layoutRows(form, D.layouts[target] || D.sections.slice());
    },
    resetLayout: function (form) { call(form, "DELETE", "/api/v1/card-layout/own"); },
    saveLayout: function (form) {
      var target = form.elements.target.value.split(":"), sections = [];
      each(form.querySelectorAll("[data-testid=layout-row]"), function (li) {
        if (li.querySelector("input").checked) sections.push(li.getAttribute("data-section"));
      });
      var body = {sections: sections};
      body[target[0] === "d" ? "department_id" : "user_id"] = Number(target[1]);
      call(form, "PUT", "/api/v1/card-layout", body);
      return false;
    },
    // playbooks: steps as rows
    addStep: function (form) { stepRow(form); },
    editPlaybook: function (button) {
      var form = document.querySelector("[data-testid=playbook-form]"), data = rowData(button);
      fill(form, {id: data.id, name: data.name});
      form.querySelector(".steps").innerHTML = "";
      data.steps.forEach(function (s) { stepRow(form, s); });
    },
    savePlaybook: function (form) {
      var id = form.elements.id.value, steps = [];
      each(form.querySelectorAll("[data-testid=step-row]"), function (row) {
        steps.push({title: row.querySelector("[data-testid=step-title]").value,
          type: row.querySelector("[data-testid=step-type]").value,
          offset_days: Number(row.querySelector("[data-testid=step-days]").value || 0),
          assignee: row.querySelector("[data-testid=step-assignee]").value});
      });
      call(form, id ? "PUT" : "POST", "/api/v1/playbooks" + (id ? "/" + id : ""),
        {name: form.elements.name.value, steps: steps});
      return false;
    },
    // Google Workspace: the key file Google gives, checked by the service
    saveWorkspace: function (form) {
      var file = form.elements.key.files[0];
      if (!file) { fail(form, new Error(L.nofile)); return false; }
      file.text().then(function (text) {
        var key;
        try { key = JSON.parse(text); } catch (e) { fail(form, new Error(L.notjson)); return; }
        call(form, "PUT", "/api/v1/calendar-sync/workspace", {key: key});
      });
      return false;
    }
  };

  function start() {  // the settings page, or a person's own card layout page
    var field = document.querySelector("[data-testid=field-form]");
    if (field) {
      adm.fieldType(field);
      adm.showDictionary(document.getElementById("dict-select").value, true);
      var node = document.querySelector("[data-testid=node-form]");
      builder(node.querySelector(".builder"));
      adm.nodeKind(node);
      builder(document.querySelector("[data-testid=segment-builder]"));
      stepRow(document.querySelector("[data-testid=playbook-form]"));
    }
    var layout = document.querySelector("[data-testid=layout-form]");
    if (layout && layout.elements.target.options.length) adm.showLayout(layout);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

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
    var box = form.querySelector(".builder"), bad = box && mark(box, e);
    if (!bad) return;
    // the condition is outlined: its message is enough, said once, beside the button
    err.textContent = e.detail[0].msg;
    box.querySelector("[data-testid=builder-count]").textContent = "";
    bad.scrollIntoView({block: "center"});
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
  // Groups of conditions: each says whether all or any of its items hold, and holds
  // conditions and groups in order; groups nest D.maxDepth levels below the top (the
  // service refuses deeper ones). "is one of" is ticked from the list, by name.
  var ORDER = ["ge", "le", "gt", "lt", "eq", "ne"];
  var MAX_DEPTH = D.maxDepth || 5;
  function attributes() {
    var dict = function (code) {
      return (D.dicts[code] || []).map(function (i) { return [String(i.id), i.name]; }); };
    var listed = ["eq", "in", "ne", "is_set"];
    var out = [
      {v: "name", kind: "text", ops: ["contains", "eq", "ne"]},
      {v: "kind", kind: "pick", ops: ["eq", "in", "ne"], options: [["company", L.values.company],
        ["individual", L.values.individual]]},
      {v: "list_type", kind: "pick", ops: ["eq", "in", "ne"], options: [
        ["counterparty", L.values.counterparty], ["partner", L.values.partner]]},
      {v: "completeness", kind: "number", ops: ORDER},
      {v: "created_at", kind: "date", ops: ["ge", "le", "gt", "lt", "eq", "within_days"]},
      {v: "manager_id", kind: "id", ops: listed, options: D.staff.map(
        function (p) { return [String(p.id), p.name]; })},
      {v: "region_id", kind: "id", ops: listed, options: dict("region")},
      {v: "city_id", kind: "id", ops: listed, options: dict("city")},
      {v: "district_id", kind: "id", ops: listed, options: dict("district")},
      {v: "sphere_id", kind: "id", ops: listed, options: dict("sphere")},
      {v: "ad_source_id", kind: "id", ops: listed, options: dict("ad_source")},
      {v: "country", kind: "text", ops: ["eq", "ne", "is_set"]},
      {v: "is_group", kind: "bool", ops: ["eq"]},
      {v: "classifier_node_id", kind: "id", ops: ["eq", "in", "ne"], options: D.nodes.map(
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
        a.ops = f.type === "choice" ? listed : ["contains", "in", "ne", "is_set"];
      } else { a.kind = "number"; a.ops = ORDER.concat(["is_set"]); }
      out.push(a);
    });
    return out;
  }
  var ATTRS = D.fields ? attributes() : [];
  function known(v) { return ATTRS.filter(function (a) { return a.v === v; })[0]; }
  function attr(v) { return known(v) || ATTRS[0]; }
  function options(select, list, chosen) {
    select.innerHTML = "";
    list.forEach(function (o) {
      var opt = make("option", {value: o[0]}, o[1]);
      if (String(chosen) === o[0]) opt.selected = true;
      select.appendChild(opt);
    });
  }
  function asList(value) {
    return (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value])
      .map(String);
  }
  // the attribute's choices; a stored value no longer offered (an archived value, a
  // dismissed manager) is kept under its name, so saving again does not change it
  function choices(a, value, stored) {
    var list = a.options.slice(), ids = list.map(function (o) { return o[0]; });
    if (stored) asList(value).forEach(function (v) {
      if (ids.indexOf(v) >= 0) return;
      var name = (D.gone && D.gone[a.v] || {})[v];
      list.push([v, (name ? name + " · " : "") + L.gone]);
    });
    return list;
  }
  // "is one of": the values ticked as chips; a long list gets a search box
  function multiBox(a, value, stored) {
    var box = make("div", {class: "multi", role: "group", "data-testid": "cond-value",
      "data-kind": a.kind, "data-multi": "1", "aria-label": a.label});
    var wanted = asList(value), list = choices(a, value, stored), picks = [];
    if (list.length > 8) {
      var find = make("input", {type: "search", "data-testid": "cond-find",
        placeholder: L.find, "aria-label": L.find});
      find.oninput = function () {
        var q = find.value.trim().toLowerCase();
        picks.forEach(function (p) {
          p.hidden = !!q && !p.firstChild.checked && p.textContent.toLowerCase().indexOf(q) < 0;
        });
      };
      box.appendChild(find);
    }
    list.forEach(function (o) {
      var pick = make("label", {class: "pick", "data-testid": "cond-option"});
      var tick = make("input", {type: "checkbox", value: o[0]});
      tick.checked = wanted.indexOf(o[0]) >= 0;
      pick.appendChild(tick); pick.appendChild(make("span", {}, o[1]));
      picks.push(pick); box.appendChild(pick);
    });
    return box;
  }
  function valueBox(row, value, stored) {
    var a = attr(row.querySelector("[data-testid=cond-field]").value);
    var op = row.querySelector("[data-testid=cond-op]").value;
    var holder = row.querySelector(".value"), box;
    holder.innerHTML = "";
    holder.classList.toggle("wide", op === "in" && !!a.options);
    if (op === "is_set" || a.kind === "bool") {
      box = make("select", {"data-testid": "cond-value", "data-kind": "bool"});
      options(box, [["true", L.values.yes], ["false", L.values.no]],
        value === undefined ? "true" : String(value));
    } else if (a.options && op === "in") {
      box = multiBox(a, value, stored);
    } else if (a.options && op !== "within_days") {
      box = make("select", {"data-testid": "cond-value", "data-kind": a.kind});
      options(box, choices(a, value, stored), asList(value)[0]);
      // chosen (not merely the first offered): carried over to "is one of"
      if (asList(value).length) box.setAttribute("data-chosen", "1");
      box.addEventListener("change", function () { box.setAttribute("data-chosen", "1"); });
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
  function readValue(row) {
    var v = row.querySelector("[data-testid=cond-value]"), kind = v.getAttribute("data-kind");
    var num = function (x) { return x === "" ? null : Number(x); };
    if (v.getAttribute("data-multi")) {
      var ticked = [];
      each(v.querySelectorAll("input[type=checkbox]:checked"), function (t) { ticked.push(t.value); });
      return kind === "id" || kind === "number" ? ticked.map(num) : ticked;
    }
    if (kind === "bool") return v.value === "true";
    if (kind === "id" || kind === "number") return num(v.value);
    return v.value;
  }
  function removeButton(testid, label, onclick) {
    var b = make("button", {type: "button", class: "chip", "data-testid": testid,
      "aria-label": label, title: label}, "✕");
    b.onclick = onclick;
    return b;
  }
  // one condition; one this page cannot show (an attribute or operation it does not
  // offer, a field hidden or archived) is kept as it is, to be removed or left
  function condRow(box, conds, cond) {
    cond = cond || {};
    var row = make("div", {class: "cond", "data-testid": "cond-row"});
    var a = cond.field ? known(cond.field) : ATTRS[0];
    if (!a || (cond.op && a.ops.indexOf(cond.op) < 0)) {
      row.classList.add("kept");
      row._cond = cond;
      row.appendChild(make("span", {class: "hint"}, L.kept));
      row.appendChild(removeButton("cond-remove", L.remove, function () {
        row.remove(); changed(box); }));
      conds.appendChild(row);
      return row;
    }
    var field = make("select", {"data-testid": "cond-field", "aria-label": L.attribute});
    var groups = {};
    ATTRS.forEach(function (x) {
      if (!groups[x.group]) { groups[x.group] = make("optgroup", {label: x.group}); field.appendChild(groups[x.group]); }
      var o = make("option", {value: x.v}, x.label);
      if (x.v === cond.field) o.selected = true;
      groups[x.group].appendChild(o);
    });
    var op = make("select", {"data-testid": "cond-op", "aria-label": L.operation});
    row.appendChild(field); row.appendChild(op);
    row.appendChild(removeButton("cond-remove", L.remove, function () {
      row.remove(); changed(box); }));
    row.appendChild(make("span", {class: "value"}));
    function ops(chosen) {
      options(op, attr(field.value).ops.map(function (o) { return [o, L.ops[o]]; }), chosen);
    }
    ops(cond.op);
    valueBox(row, cond.value, true);
    field.onchange = function () { ops(); valueBox(row); changed(box); };
    op.onchange = function () {  // the values chosen stay chosen: "is" ⇄ "is one of"
      var now = attr(field.value), shown = row.querySelector("[data-testid=cond-value]");
      var before = shown.getAttribute("data-multi") || shown.getAttribute("data-chosen") ?
        readValue(row) : undefined;
      valueBox(row, now.options ? asList(before).filter(function (v) {
        return now.options.some(function (o) { return o[0] === v; }); }) : undefined);
      changed(box);
    };
    row.oninput = function (e) { if (e.target.type !== "search") changed(box); };
    conds.appendChild(row);
    return row;
  }
  function groupBox(box, rules, depth) {
    rules = Array.isArray(rules) ? {match: "all", conditions: rules} : (rules || {});
    var top = !depth, id = function (t) { return (top ? "builder-" : "group-") + t; };
    var g = make("div", {class: "group", "data-testid": top ? "builder-group" : "group"});
    var head = make("div", {class: "group-head"});
    var match = make("select", {"data-testid": id("match"), "aria-label": L.group});
    options(match, [["all", L.matchAll], ["any", L.matchAny]], rules.match || "all");
    match.onchange = function () { changed(box); };
    head.appendChild(match);
    var conds = make("div", {class: "conds"});
    g._match = match; g._conds = conds;
    g.appendChild(head); g.appendChild(conds);
    (rules.conditions || []).forEach(function (c) {
      if (c && typeof c === "object" && c.conditions) conds.appendChild(groupBox(box, c, depth + 1));
      else condRow(box, conds, c);
    });
    var actions = make("div", {class: "group-actions"});
    var add = make("button", {type: "button", class: "chip", "data-testid": top ? "builder-add" :
      "group-add"}, "➕ " + L.addCondition);
    add.onclick = function () { condRow(box, conds); changed(box); };
    actions.appendChild(add);
    if (depth < MAX_DEPTH) {
      var sub = make("button", {type: "button", class: "chip", "data-testid": id("add-group")},
        "➕ " + L.addGroup);
      sub.onclick = function () {  // a new group starts with one condition, "any" in "all"
        var inner = groupBox(box, {match: match.value === "all" ? "any" : "all"}, depth + 1);
        condRow(box, inner._conds);
        conds.appendChild(inner);
        changed(box);
      };
      actions.appendChild(sub);
    }
    if (!top) {  // said in words: a ✕ beside a condition's ✕ would be taken for it
      var drop = make("button", {type: "button", class: "chip", "data-testid": "group-remove"},
        "✕ " + L.removeGroup);
      drop.onclick = function () { g.remove(); changed(box); };
      actions.appendChild(drop);
    }
    g.appendChild(actions);
    return g;
  }
  function builder(box, rules) {
    box.innerHTML = "";
    box.appendChild(groupBox(box, rules, 0));
    box.appendChild(make("p", {class: "hint", "data-testid": "builder-count"}));
    changed(box);
  }
  function items(g) {
    return Array.prototype.filter.call(g._conds.children, function (el) {
      return el.classList.contains("cond") || el.classList.contains("group"); });
  }
  function readGroup(g) {
    return {match: g._match.value, conditions: items(g).map(function (el) {
      if (el.classList.contains("group")) return readGroup(el);
      if (el._cond) return el._cond;
      return {field: el.querySelector("[data-testid=cond-field]").value,
        op: el.querySelector("[data-testid=cond-op]").value, value: readValue(el)};
    })};
  }
  function readRules(box) { return readGroup(box.querySelector("[data-testid=builder-group]")); }
  // "and" / "or" between the items of each group, as its choice says
  function joiners(box) {
    each(box.querySelectorAll(".joiner"), function (j) { j.remove(); });
    each(box.querySelectorAll(".group"), function (g) {
      items(g).slice(1).forEach(function (el) {
        g._conds.insertBefore(make("div", {class: "joiner", "aria-hidden": "true"},
          g._match.value === "all" ? L.and : L.or), el);
      });
    });
  }
  // the condition or group a refusal names ("conditions[1].conditions[0]"), outlined
  function mark(box, e) {
    each(box.querySelectorAll(".bad"), function (x) { x.classList.remove("bad"); });
    var loc = e && Array.isArray(e.detail) && e.detail[0] && e.detail[0].loc;
    var path = loc ? String(loc[loc.length - 1]) : "", el = box.querySelector(".group");
    var steps = path.match(/conditions\[\d+\]/g);
    if (!steps || !el) return null;
    steps.forEach(function (s) {
      el = el && el._conds ? items(el)[Number(s.match(/\d+/)[0])] : null; });
    if (el) el.classList.add("bad");
    return el;
  }
  function changed(box) {  // how many clients match now
    joiners(box);
    clearTimeout(box._count);
    box._count = setTimeout(function () {
      var out = box.querySelector("[data-testid=builder-count]");
      K.api("POST", "/api/v1/segments/count", {rules: readRules(box)}).then(function (j) {
        mark(box, null);
        out.classList.remove("refused");
        out.textContent = L.matches + " " + j.members;
      }, function (e) {
        out.classList.add("refused");
        out.textContent = mark(box, e) ? e.detail[0].msg : e.message;
      });
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
    // S-25: staff groups (manual only): a new one POSTs, a change PATCHes the node
    saveStaffGroup: function (form) {
      var id = form.elements.id.value, body = collect(form);
      call(form, id ? "PATCH" : "POST", id ? "/api/v1/classifier/" + id : "/api/v1/staff-groups", body);
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

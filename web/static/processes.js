/* The settings page's sales processes (issue 12, U-1): process types listed with their
   stages; a type's form with its name, kind, mode and regulation, and its stages as rows
   — name, kind, probability, requirements as boxes, skippable, instructions, the
   playbook whose tasks entering it makes, days allowed — added, reordered with arrows,
   removed; archive and restore. Names are shown as the reader reads them; a seeded
   name left as shown is sent back as stored, so it stays translated for everybody. */
(function () {
  "use strict";
  var K = window.kontakt;
  var L = JSON.parse(document.getElementById("process-labels").textContent);
  var list = document.querySelector("[data-testid=processes]");
  var form = document.querySelector("[data-testid=process-form]");
  if (!list || !form) return;
  var shown = {};  // process id → its data as the API gave it

  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function each(items, fn) { Array.prototype.forEach.call(items, fn); }
  function options(select, pairs, chosen) {
    pairs.forEach(function (p) {
      var o = make("option", {value: String(p[0])}, p[1]);
      if (String(chosen) === String(p[0])) o.selected = true;
      select.appendChild(o);
    });
  }
  function call(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw {message: K.detailText(j.detail, r.status), detail: j.detail};
        return j;
      });
    });
  }
  function done() {  // back to this section after the page reloads
    window.location.hash = "processes";
    window.location.reload();
  }

  // ---- the list ----------------------------------------------------------------------
  function row(p) {
    var li = make("li", {class: "row" + (p.archived ? " dismissed" : ""),
                         "data-testid": "process-row", "data-name": p.name});
    var main = make("div", {class: "main"});
    var name = make("div", {class: "name"}, p.name);
    if (p.archived) name.appendChild(make("span", {class: "hint"}, " · " + L.archived));
    main.appendChild(name);
    main.appendChild(make("div", {class: "sub"}, p.kind_name + " · " + p.mode_name));
    main.appendChild(make("div", {class: "sub", "data-testid": "process-stage-names"},
      p.stages.map(function (s) { return s.name; }).join(" → ")));
    var actions = make("div", {class: "actions"});
    if (!p.archived) {
      var edit = make("button", {type: "button", class: "chip", "data-testid": "process-edit"},
                      "✏️ " + L.change);
      edit.onclick = function () { open(p); };
      var arch = make("button", {type: "button", class: "chip", "data-testid": "process-archive"},
                      "🗄 " + L.archive);
      arch.onclick = function () {
        call("POST", "/api/v1/process-types/" + p.id + "/archive").then(done,
          function (e) { K.tell(e.message); });
      };
      actions.appendChild(edit); actions.appendChild(arch);
    } else {
      var back = make("button", {type: "button", class: "chip", "data-testid": "process-restore"},
                      "↩️ " + L.restore);
      back.onclick = function () {
        call("POST", "/api/v1/process-types/" + p.id + "/restore").then(done,
          function (e) { K.tell(e.message); });
      };
      actions.appendChild(back);
    }
    main.appendChild(actions);
    li.appendChild(main);
    return li;
  }
  function load() {
    Promise.all([call("GET", "/api/v1/process-types"),
                 call("GET", "/api/v1/process-types?archived=true")]).then(function (r) {
      list.innerHTML = "";
      var all = r[0].items.concat(r[1].items);
      all.forEach(function (p) { shown[p.id] = p; list.appendChild(row(p)); });
      var next = form.elements.next_process_id;  // U-7: what a won deal goes on as
      while (next.options.length > 1) next.remove(1);
      r[0].items.forEach(function (p) { next.appendChild(make("option", {value: p.id}, p.name)); });
      if (!all.length) list.appendChild(make("li", {class: "hint"}, L.empty));
      list.setAttribute("data-ready", "1");
    }, function (e) {
      list.innerHTML = "";
      list.appendChild(make("li", {class: "error"}, e.message));
    });
  }

  // ---- a stage's row -------------------------------------------------------------------
  function renumber() {
    each(form.querySelectorAll("[data-testid=stage-row]"), function (r, i) {
      r.querySelector("legend").textContent = L.stage.replace("{n}", i + 1);
    });
  }
  function labelled(text, field) {
    var l = make("label", {}, text);
    l.appendChild(field);
    return l;
  }
  function summary(row) {  // what the folded settings hold, in a line
    var q = function (t) { return row.querySelector("[data-testid=" + t + "]"); };
    var parts = ["⚙️ " + L.probShort.replace("{n}", q("stage-probability").value || "0")];
    var needs = Array.prototype.filter.call(
      row.querySelectorAll("[data-testid=stage-requires] input"),
      function (c) { return c.checked; }).map(function (c) { return L.requires[c.value]; });
    if (needs.length) parts.push(needs.join(", "));
    var book = q("stage-playbook");
    if (book.value) parts.push(book.options[book.selectedIndex].textContent);
    if (q("stage-days").value) parts.push(L.daysShort.replace("{n}", q("stage-days").value));
    return parts.join(" · ");
  }
  function stageRow(s) {
    var isNew = !s;
    s = s || {kind: "open", probability: 0, requires: [], skippable: true};
    var box = form.querySelector("[data-testid=process-stages]");
    var row = make("fieldset", {class: "stage-row", "data-testid": "stage-row"});
    row._stage = s;  // its id, stored and shown names
    row.appendChild(make("legend", {class: "hint"}));
    var name = make("input", {maxlength: "100", "data-testid": "stage-name"});
    name.value = s.name || "";
    var kind = make("select", {"data-testid": "stage-kind"});
    options(kind, [["open", L.stageKinds.open], ["won", L.stageKinds.won],
                   ["lost", L.stageKinds.lost]], s.kind);
    var head = make("div", {class: "pair"});
    head.appendChild(labelled(L.name, name));
    head.appendChild(labelled(L.kind, kind));
    row.appendChild(head);
    // the rest folded under a line that says what it holds (open for a new stage)
    var more = make("details", {"data-testid": "stage-more"});
    if (isNew) more.open = true;
    var line = make("summary", {class: "hint", "data-testid": "stage-summary"});
    more.appendChild(line);
    var prob = make("input", {type: "number", min: "0", max: "100", inputmode: "numeric",
                              "data-testid": "stage-probability"});
    prob.value = s.probability;
    var days = make("input", {type: "number", min: "1", max: "365", inputmode: "numeric",
                              "data-testid": "stage-days"});
    days.value = s.days_limit || "";
    var pair = make("div", {class: "pair"});
    pair.appendChild(labelled(L.probability, prob));
    pair.appendChild(labelled(L.daysLimit, days));
    more.appendChild(pair);
    var needs = make("fieldset", {class: "reminders", "data-testid": "stage-requires"});
    needs.appendChild(make("legend", {}, L.requiresLegend));
    Object.keys(L.requires).forEach(function (code) {
      var l = make("label", {class: "inline"});
      var c = make("input", {type: "checkbox", value: code, "data-testid": "stage-require-" + code});
      c.checked = (s.requires || []).indexOf(code) >= 0;
      l.appendChild(c); l.appendChild(document.createTextNode(" " + L.requires[code]));
      needs.appendChild(l);
    });
    more.appendChild(needs);
    var book = make("select", {"data-testid": "stage-playbook"});
    options(book, L.playbooks, s.playbook_id || "");
    more.appendChild(labelled(L.playbook, book));
    var skip = make("label", {class: "inline"});
    var skipBox = make("input", {type: "checkbox", "data-testid": "stage-skippable"});
    skipBox.checked = s.skippable !== false;
    skip.appendChild(skipBox); skip.appendChild(document.createTextNode(" " + L.skippable));
    more.appendChild(skip);
    var text = make("textarea", {rows: "2", maxlength: "5000", "data-testid": "stage-instructions"});
    text.value = s.instructions || "";
    more.appendChild(labelled(L.instructions, text));
    row.appendChild(more);
    line.textContent = summary(row);
    more.addEventListener("input", function () { line.textContent = summary(row); });
    more.addEventListener("change", function () { line.textContent = summary(row); });
    row.appendChild(make("p", {class: "error", "data-stage-error": "1", hidden: ""}));
    var bar = make("div", {class: "toolbar"});
    [["↑", L.up, "stage-up", function () {
        if (row.previousElementSibling) box.insertBefore(row, row.previousElementSibling);
        renumber(); }],
     ["↓", L.down, "stage-down", function () {
        if (row.nextElementSibling) box.insertBefore(row.nextElementSibling, row);
        renumber(); }],
     ["✕", L.remove, "stage-remove", function () { row.remove(); renumber(); }]
    ].forEach(function (b) {
      var btn = make("button", {type: "button", class: "chip", "aria-label": b[1],
                                "data-testid": b[2]}, b[0] + " " + b[1]);
      btn.onclick = b[3];
      bar.appendChild(btn);
    });
    row.appendChild(bar);
    box.appendChild(row);
    renumber();
    return row;
  }
  function readStage(row) {
    var s = row._stage, q = function (t) { return row.querySelector("[data-testid=" + t + "]"); };
    var name = q("stage-name").value.trim();
    var out = {
      // a seeded name left as shown goes back as stored: still translated for everybody
      name: s.id && name === s.name ? s.stored_name : name,
      kind: q("stage-kind").value,
      probability: q("stage-probability").value === "" ? 0 : Number(q("stage-probability").value),
      requires: Array.prototype.filter.call(row.querySelectorAll("[data-testid=stage-requires] input"),
        function (c) { return c.checked; }).map(function (c) { return c.value; }),
      skippable: q("stage-skippable").checked,
      instructions: q("stage-instructions").value.trim() || null,
      playbook_id: q("stage-playbook").value ? Number(q("stage-playbook").value) : null,
      days_limit: q("stage-days").value === "" ? null : Number(q("stage-days").value)
    };
    if (s.id) out.id = s.id;
    return out;
  }

  // ---- the form ---------------------------------------------------------------------------
  function editing(on) {
    each(form.querySelectorAll("[data-when=new]"), function (x) { x.hidden = on; });
    each(form.querySelectorAll("[data-when=edit]"), function (x) { x.hidden = !on; });
  }
  function clearErrors() {
    each(form.querySelectorAll(".error"), function (p) { p.hidden = true; p.textContent = ""; });
  }
  function blank() {
    form.reset();
    form.elements.id.value = "";
    form._process = null;
    form.querySelector("[data-testid=process-stages]").innerHTML = "";
    clearErrors();
  }
  function open(p) {
    blank();
    form._process = p;
    form.elements.id.value = p.id;
    form.elements.name.value = p.name;
    form.elements.kind.value = p.kind;
    form.elements.mode.value = p.mode;
    form.elements.next_process_id.value = p.next_process_id || "";
    each(form.elements.next_process_id.options, function (o) {  // not itself
      o.hidden = o.value === String(p.id);
    });
    form.elements.regulation.value = p.regulation || "";
    p.stages.forEach(function (s) { stageRow(s); });
    editing(true);
    form.scrollIntoView({block: "start"});
  }
  function fresh() {  // a new process: its first stage, won and lost to start from
    blank();
    editing(false);
    stageRow({name: "", kind: "open", probability: 10, requires: [], skippable: true});
    stageRow({name: L.wonName, kind: "won", probability: 100, requires: [],
              skippable: true});
    stageRow({name: L.lostName, kind: "lost", probability: 0, requires: [],
              skippable: true});
  }
  function show(e) {
    var rows = form.querySelectorAll("[data-testid=stage-row]");
    var items = Array.isArray(e.detail) ? e.detail : [{msg: e.message, loc: []}];
    items.forEach(function (d) {
      var loc = (d.loc || []).slice(1), target = null, n = null;
      if (loc[0] === "stages" && typeof loc[1] === "number") n = loc[1];  // pydantic, from 0
      else if (typeof loc[0] === "string" && /^stages\.\d+/.test(loc[0])) {  // ours, from 1
        n = parseInt(loc[0].split(".")[1], 10) - 1;
      }
      if (n !== null && rows[n]) target = rows[n].querySelector("[data-stage-error]");
      else if (loc.length) target = form.querySelector('[data-error-for="' + loc[0] + '"]');
      var text = (d.field && (n !== null || !target) ? d.field + ": " : "") + d.msg;
      target = target || form.querySelector('[data-error-for=""]');
      target.textContent = target.hidden ? text : target.textContent + "; " + text;
      target.hidden = false;
      if (n !== null && rows[n]) {
        var field = typeof loc[loc.length - 1] === "string" ? loc[loc.length - 1].split(".").pop()
          : "";
        if (field && field !== "name" && field !== "kind") {
          rows[n].querySelector("[data-testid=stage-more]").open = true;
        }
        rows[n].scrollIntoView({block: "center"});
      }
    });
  }

  window.processEditor = {
    addStage: function () {
      // before the won and lost stages, where a new step of the sale usually goes
      var rows = form.querySelectorAll("[data-testid=stage-row]"), before = null;
      each(rows, function (r) {
        if (!before && r.querySelector("[data-testid=stage-kind]").value !== "open") before = r;
      });
      var row = stageRow();
      if (before) before.parentNode.insertBefore(row, before);
      renumber();
      row.querySelector("[data-testid=stage-name]").focus();
    },
    cancel: function () { fresh(); },
    save: function () {
      clearErrors();
      var p = form._process, id = form.elements.id.value;
      var name = form.elements.name.value.trim();
      var body = {
        name: p && name === p.name ? p.stored_name : name,
        kind: form.elements.kind.value, mode: form.elements.mode.value,
        next_process_id: form.elements.next_process_id.value ?
          Number(form.elements.next_process_id.value) : null,
        regulation: form.elements.regulation.value.trim() || null,
        stages: Array.prototype.map.call(form.querySelectorAll("[data-testid=stage-row]"),
                                         readStage)
      };
      call(id ? "PUT" : "POST", "/api/v1/process-types" + (id ? "/" + id : ""), body)
        .then(done, show);
      return false;
    }
  };
  load();
  fresh();
})();

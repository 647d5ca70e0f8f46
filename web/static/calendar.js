/* Kontakt organizer (K-17, M-13, A-10, S-20): agenda, day, week and month views of one's
   own calendar or a colleague's, coloured by category, priority or state; durations
   and overlaps; create, edit, drag to reschedule; the overdue list. Times are shown in
   the device's time zone; the server stores UTC. */
(function () {
  "use strict";
  var root = document.getElementById("calendar");
  if (!root) return;
  var T = JSON.parse(document.getElementById("cal-i18n").textContent);
  var lang = root.dataset.lang || "ru";
  var locale = {ru: "ru-RU", uk: "uk-UA", en: "en-GB"}[lang] || "ru-RU";
  var S = {
    view: window.innerWidth < 600 ? "agenda" : "week",
    day: startOfDay(new Date()),
    person: parseInt(root.dataset.me, 10),
    me: parseInt(root.dataset.me, 10),
    colour: "category",
    types: [], templates: [], items: [], editing: null,
    picked: null  // the day chosen in a phone's week strip or month grid
  };
  // a phone: the week is a strip of days over one day's timeline, the month a grid
  // of dots over the chosen day's list (seven columns of text do not fit 390 px)
  function phone() { return window.matchMedia("(max-width: 599px)").matches; }
  var HOUR_PX = 48, FIRST_HOUR = 7, LAST_HOUR = 21, STEP_MIN = 15;
  var PRIORITY = {low: "#8bc34a", normal: "#4a90d9", high: "#ff9800", critical: "#e53935"};
  var STATE = {planned: "#4a90d9", rescheduled: "#9c27b0", postponed: "#9e9e9e",
               done: "#43a047", cancelled: "#bdbdbd"};
  var $ = function (id) { return document.getElementById(id); };

  function startOfDay(d) { var x = new Date(d); x.setHours(0, 0, 0, 0); return x; }
  function addDays(d, n) { var x = new Date(d); x.setDate(x.getDate() + n); return x; }
  function monday(d) { var x = startOfDay(d); var wd = (x.getDay() + 6) % 7; return addDays(x, -wd); }
  function sameDay(a, b) { return a.toDateString() === b.toDateString(); }
  function hm(d) { return d.toLocaleTimeString(locale, {hour: "2-digit", minute: "2-digit"}); }
  function dayLabel(d) {
    return d.toLocaleDateString(locale, {weekday: "short", day: "numeric", month: "short"});
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localInput(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; });
  }
  var api = window.kontakt.api;  // app.js
  var X = window.kontaktActivityExtra;  // actextra.js: the form's further fields
  function showError(el, err) { el.textContent = err.message || String(err); el.hidden = false; }

  function range() {
    if (S.view === "day") return [S.day, addDays(S.day, 1)];
    if (S.view === "week") { var m = monday(S.day); return [m, addDays(m, 7)]; }
    if (S.view === "month") {
      var first = new Date(S.day.getFullYear(), S.day.getMonth(), 1);
      var start = monday(first);
      return [start, addDays(start, 42)];
    }
    return [S.day, addDays(S.day, 7)];
  }
  function colourOf(it) {
    if (S.colour === "priority") return PRIORITY[it.priority];
    if (S.colour === "state") return STATE[it.state];
    return it.colour || PRIORITY.normal;
  }
  function startOf(it) { return it.start ? new Date(it.start) : null; }
  function endOf(it) {
    var s = startOf(it);
    if (!s) return null;
    if (it.end) return new Date(it.end);
    return new Date(s.getTime() + 30 * 60000);
  }

  function load() {
    $("cal-error").hidden = true;
    var r = range();
    var title = S.view === "month" ?
      S.day.toLocaleDateString(locale, {month: "long", year: "numeric"}) :
      S.view === "overdue" ? T.overdue : dayLabel(r[0]) +
        (S.view === "day" ? "" : " – " + dayLabel(addDays(r[1], -1)));
    $("cal-title").textContent = title;
    var url = S.view === "overdue" ?
      "/api/v1/activities/overdue?person_id=" + S.person :
      "/api/v1/activities?person_id=" + S.person + "&start=" +
        encodeURIComponent(r[0].toISOString()) + "&end=" + encodeURIComponent(r[1].toISOString());
    var seq = S.seq = (S.seq || 0) + 1;  // only the latest request may draw
    return api("GET", url).then(function (j) {
      if (seq !== S.seq) return;
      S.items = j.items;
      render();
      root.dataset.loaded = String(seq);
    }).catch(function (e) {
      if (seq !== S.seq) return;
      $("cal-body").innerHTML = ""; showError($("cal-error"), e);
    });
  }

  function itemHtml(it, extra, compact) {
    var s = startOf(it), e = endOf(it);
    var when = s ? hm(s) + (it.end && !compact ? "–" + hm(e) : "") : "";
    var cls = "cal-item" + (it.overdue ? " overdue" : "") + (it.state === "done" ? " done" : "") +
      (it.state === "cancelled" ? " cancelled" : "");
    return '<div class="' + cls + '" data-testid="cal-item" data-id="' + it.id + '" ' +
      'data-start="' + esc(it.start || "") + '" draggable="true"' +
      ' style="border-left-color:' + colourOf(it) + ';' + (extra || "") + '">' +
      '<span class="t">' + esc(when) + '</span> ' + esc(it.type.icon) + " " +
      '<b>' + esc(it.title) + '</b>' + (it.client ? ' <span class="hint">· ' +
      esc(it.client.name) + '</span>' : "") + (it.overdue ? ' <span class="warn">⚠</span>' : "") +
      (it.recurring ? " 🔁" : "") + "</div>";
  }

  function render() {
    var body = $("cal-body");
    if (S.view === "agenda" || S.view === "overdue") body.innerHTML = renderAgenda();
    else if (S.view === "month") body.innerHTML = phone() ? renderPhoneMonth() : renderMonth();
    else if (S.view === "week" && phone()) body.innerHTML = renderPhoneWeek();
    else body.innerHTML = renderGrid(S.view === "day" ? 1 : 7);
    if (!S.items.length && (S.view === "agenda" || S.view === "overdue"))
      body.innerHTML = '<p class="hint" data-testid="cal-empty">' + esc(T.empty) + "</p>";
    wire(body);
  }

  function renderAgenda() {
    var out = [], day = null;
    S.items.forEach(function (it) {
      var s = startOf(it);
      var label = s ? dayLabel(s) : "—";
      if (label !== day) { day = label; out.push('<h3 class="cal-day">' + esc(label) + "</h3>"); }
      out.push(itemHtml(it, ""));
    });
    return out.join("");
  }

  function lanes(items) {
    // overlapping items share the width: each gets a lane, a group as many as it needs
    var sorted = items.slice().sort(function (a, b) { return startOf(a) - startOf(b); });
    var groups = [], group = [], groupEnd = 0;
    sorted.forEach(function (it) {
      var s = startOf(it).getTime(), e = endOf(it).getTime();
      if (group.length && s >= groupEnd) { groups.push(group); group = []; groupEnd = 0; }
      var laneEnds = group.laneEnds || (group.laneEnds = []);
      var lane = laneEnds.findIndex(function (end) { return end <= s; });
      if (lane < 0) { lane = laneEnds.length; laneEnds.push(e); } else laneEnds[lane] = e;
      it._lane = lane;
      group.push(it);
      groupEnd = Math.max(groupEnd, e);
    });
    if (group.length) groups.push(group);
    groups.forEach(function (g) { g.forEach(function (it) { it._lanes = g.laneEnds.length; }); });
  }

  function itemsOn(d) {
    return S.items.filter(function (it) { return startOf(it) && sameDay(startOf(it), d); });
  }
  function pickedIn(first, days) {
    // the chosen day if it is in [first, first + days), else today if it is, else first
    var last = addDays(first, days);
    var inside = function (d) { return d && d >= first && d < last; };
    if (inside(S.picked)) return S.picked;
    var today = startOfDay(new Date());
    return inside(today) ? today : first;
  }
  function renderPhoneWeek() {
    var first = monday(S.day), day = pickedIn(first, 7);
    var html = ['<div class="cal-strip" data-testid="cal-strip">'];
    for (var i = 0; i < 7; i++) {
      var d = addDays(first, i), n = itemsOn(d).length;
      html.push('<button type="button" class="cal-chip' + (sameDay(d, day) ? " picked" : "") +
        (sameDay(d, new Date()) ? " today" : "") + '" data-testid="cal-chip" data-pick="' +
        localInput(d).slice(0, 10) + '"><span>' +
        esc(d.toLocaleDateString(locale, {weekday: "short"})) + "</span><b>" + d.getDate() +
        "</b><i>" + (n ? "•".repeat(Math.min(n, 3)) : "&nbsp;") + "</i></button>");
    }
    html.push("</div>");
    return html.join("") + renderGrid(1, day);
  }
  function renderPhoneMonth() {
    var start = range()[0], month = S.day.getMonth();
    var first = new Date(S.day.getFullYear(), month, 1);
    var day = pickedIn(first, new Date(S.day.getFullYear(), month + 1, 0).getDate());
    var html = ['<div class="cal-month phone" data-testid="cal-month-phone">'];
    for (var i = 0; i < 42; i++) {
      var d = addDays(start, i), n = itemsOn(d).length;
      html.push('<button type="button" class="cal-cell' + (d.getMonth() !== month ? " other" : "") +
        (sameDay(d, new Date()) ? " today" : "") + (sameDay(d, day) ? " picked" : "") +
        '" data-testid="cal-cell" data-pick="' + localInput(d).slice(0, 10) + '" data-date="' +
        localInput(d).slice(0, 10) + '"><span class="n">' + d.getDate() + "</span><i>" +
        (n ? "•".repeat(Math.min(n, 3)) : "&nbsp;") + "</i></button>");
    }
    html.push("</div>");
    var todays = itemsOn(day);
    html.push('<h3 class="cal-day" data-testid="cal-picked-day">' + esc(dayLabel(day)) + "</h3>");
    html.push(todays.length ? todays.map(function (it) { return itemHtml(it, ""); }).join("") :
      '<p class="hint" data-testid="cal-empty">' + esc(T.empty_day) + "</p>");
    return html.join("");
  }

  function renderGrid(days, from) {
    var start = from || (days === 1 ? S.day : monday(S.day));
    var first = FIRST_HOUR, last = LAST_HOUR;
    S.items.forEach(function (it) {
      var s = startOf(it), e = endOf(it);
      if (!s) return;
      first = Math.min(first, s.getHours());
      last = Math.max(last, Math.min(24, e.getHours() + (e.getMinutes() ? 1 : 0)));
    });
    S.gridFirst = first;
    var height = (last - first) * HOUR_PX;
    var html = ['<div class="cal-grid" style="--days:' + days + '">',
                '<div class="cal-hours" style="height:' + height + 'px">'];
    for (var h = first; h < last; h++)
      html.push('<div style="top:' + (h - first) * HOUR_PX + 'px">' + pad(h) + ":00</div>");
    html.push("</div>");
    for (var i = 0; i < days; i++) {
      var d = addDays(start, i);
      var todays = S.items.filter(function (it) { return startOf(it) && sameDay(startOf(it), d); });
      lanes(todays);
      html.push('<div class="cal-col' + (sameDay(d, new Date()) ? " today" : "") +
        '" data-testid="cal-col" data-date="' + localInput(d).slice(0, 10) + '">' +
        '<div class="cal-col-head">' + esc(dayLabel(d)) + "</div>" +
        '<div class="cal-slots" style="height:' + height + 'px">');
      todays.forEach(function (it) {
        var s = startOf(it), e = endOf(it);
        var top = ((s.getHours() - first) * 60 + s.getMinutes()) * HOUR_PX / 60;
        var h2 = Math.max(18, (e - s) / 60000 * HOUR_PX / 60);
        var w = 100 / it._lanes;
        html.push(itemHtml(it, "position:absolute;top:" + top + "px;height:" + h2 +
          "px;left:" + (it._lane * w) + "%;width:calc(" + w + "% - 2px)", true));
      });
      html.push("</div></div>");
    }
    html.push("</div>");
    return html.join("");
  }

  function renderMonth() {
    var start = range()[0], month = S.day.getMonth();
    var html = ['<div class="cal-month">'];
    for (var i = 0; i < 42; i++) {
      var d = addDays(start, i);
      var todays = S.items.filter(function (it) { return startOf(it) && sameDay(startOf(it), d); });
      html.push('<div class="cal-cell' + (d.getMonth() !== month ? " other" : "") +
        (sameDay(d, new Date()) ? " today" : "") + '" data-testid="cal-cell" data-date="' +
        localInput(d).slice(0, 10) + '"><div class="n">' + d.getDate() + "</div>");
      todays.slice(0, 3).forEach(function (it) { html.push(itemHtml(it, "", true)); });
      if (todays.length > 3) html.push('<div class="hint">+' + (todays.length - 3) + "</div>");
      html.push("</div>");
    }
    html.push("</div>");
    return html.join("");
  }

  function wire(body) {
    body.querySelectorAll("[data-pick]").forEach(function (el) {
      el.addEventListener("click", function () {
        var p = el.dataset.pick.split("-");
        S.picked = new Date(+p[0], +p[1] - 1, +p[2]);
        if (S.picked.getMonth() !== S.day.getMonth() && S.view === "month") {
          S.day = new Date(S.picked.getFullYear(), S.picked.getMonth(), 1); load(); return;
        }
        render();
      });
    });
    body.querySelectorAll(".cal-item").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        ev.stopPropagation();
        openItem(parseInt(el.dataset.id, 10));
      });
      el.addEventListener("dragstart", function (ev) {
        ev.dataTransfer.setData("text/plain", el.dataset.id);
        ev.dataTransfer.setData("application/x-start", el.dataset.start);
        ev.dataTransfer.effectAllowed = "move";
      });
    });
    body.querySelectorAll(".cal-col .cal-slots, .cal-cell").forEach(function (slot) {
      slot.addEventListener("dragover", function (ev) { ev.preventDefault(); });
      slot.addEventListener("drop", function (ev) {
        ev.preventDefault();
        var id = parseInt(ev.dataTransfer.getData("text/plain"), 10);
        var start = ev.dataTransfer.getData("application/x-start");
        var item = S.items.find(function (x) { return x.id === id && (x.start || "") === start; });
        if (!item) return;
        moveTo(item, dropTime(slot, ev, item));
      });
      slot.addEventListener("dblclick", function (ev) {
        if (ev.target.closest(".cal-item")) return;
        openNew(dropTime(slot, ev, null));
      });
    });
  }

  function dropTime(slot, ev, item) {
    var date = (slot.closest("[data-date]") || slot).dataset.date.split("-");
    var when = new Date(+date[0], +date[1] - 1, +date[2]);
    if (slot.classList.contains("cal-slots")) {
      var y = ev.clientY - slot.getBoundingClientRect().top;
      var minutes = Math.max(0, Math.round(y / HOUR_PX * 60 / STEP_MIN) * STEP_MIN);
      when.setHours(S.gridFirst, 0, 0, 0);
      when = new Date(when.getTime() + minutes * 60000);
    } else {
      var old = item && startOf(item);
      when.setHours(old ? old.getHours() : 10, old ? old.getMinutes() : 0, 0, 0);
    }
    return when;
  }

  function moveTo(item, when) {
    // the end moves with the start (the server keeps the duration), reminders follow;
    // one occurrence of a recurring activity becomes an activity of its own
    var req = item.recurring ?
      api("POST", "/api/v1/activities/" + item.id + "/occurrences",
          {original_start: item.start, starts_at: when.toISOString()}) :
      api("PATCH", "/api/v1/activities/" + item.id, {starts_at: when.toISOString()});
    req.then(load).catch(function (e) { showError($("cal-error"), e); });
  }

  // --- the detail form: its fields depend on the activity type (A-10) ----------------
  function fillTypes(select, current) {
    select.innerHTML = S.types.map(function (t) {
      return '<option value="' + esc(t.code || t.id) + '"' + ((t.code || String(t.id)) ===
        current ? " selected" : "") + ">" + esc(t.icon + " " + t.name) + "</option>"; }).join("");
  }
  function showFields(code) {
    var t = S.types.find(function (x) { return (x.code || String(x.id)) === code; });
    var fields = t ? t.form_fields : [];
    document.querySelectorAll("#act-form [data-field]").forEach(function (el) {
      var f = el.dataset.field;
      el.hidden = !(f === "goal" || fields.indexOf(f) >= 0 ||
                    (f === "result" && S.editing && S.editing.state === "done"));
    });
  }
  // an activity with a client may tell the client N hours before (email or SMS)
  function fillNotice(a) {
    var box = $("act-notice"), f = $("act-form");
    box.hidden = !(a && a.client);
    if (box.hidden) return;
    var sel = f.elements.client_notice_template_id, current = a.client_notice_hours ?
      a.client_notice_template_id : null;
    var options = S.templates.slice();
    if (current && !options.some(function (t) { return t.id === current; }))
      options.push({id: current, name: "#" + current, language: "", channel: ""});
    sel.innerHTML = '<option value="">' + esc(T.notice_none) + "</option>" +
      options.map(function (t) {
        return '<option value="' + t.id + '">' + (t.channel === "sms" ? "📱 " : "✉️ ") +
          esc(t.name + (t.language ? " (" + t.language + ")" : "")) + "</option>"; }).join("");
    sel.value = current ? String(current) : "";
    f.elements.client_notice_hours.value = current ? a.client_notice_hours : "";
    $("act-notice-state").innerHTML = (a.client_messages || []).map(function (m) {
      return '<li data-testid="act-notice-message">' + (m.channel === "sms" ? "📱 " : "✉️ ") +
        esc(m.to) + " · " + esc(T.message_states[m.state] || m.state) +
        (m.error && m.state !== "sent" ? " · " + esc(m.error) : "") + "</li>"; }).join("");
  }
  function openNew(when) {
    S.editing = null;
    var f = $("act-form");
    f.reset();
    fillNotice(null);
    $("act-heading").textContent = T.new_activity;
    fillTypes(f.elements.type, "task");
    if (when) f.elements.starts_at.value = localInput(when);
    $("act-done").hidden = true;
    $("act-discuss").hidden = true;
    $("act-comments").innerHTML = "";
    $("act-comment-box").hidden = $("act-comments-title").hidden = true;
    $("act-meta").textContent = "";
    $("act-history").innerHTML = "";
    $("act-error").hidden = true;
    showFields("task");
    X.fill(null, S.person);
    $("act-dialog").showModal();
  }
  function openItem(id) {
    api("GET", "/api/v1/activities/" + id).then(function (a) {
      S.editing = a;
      var f = $("act-form");
      f.reset();
      $("act-heading").textContent = a.type.icon + " " + a.title;
      fillTypes(f.elements.type, a.type.code || String(a.type.id));
      f.elements.title.value = a.title;
      f.elements.starts_at.value = a.start ? localInput(new Date(a.start)) : "";
      f.elements.duration_min.value = a.start && a.end ?
        Math.round((new Date(a.end) - new Date(a.start)) / 60000) : (a.duration_min || "");
      f.elements.priority.value = a.priority;
      ["goal", "location", "agenda", "minutes", "result"].forEach(function (k) {
        f.elements[k].value = a[k] || ""; });
      $("act-done").hidden = ["planned", "rescheduled", "postponed"].indexOf(a.state) < 0;
      $("act-discuss").hidden = false;
      $("act-comment-box").hidden = $("act-comments-title").hidden = false;
      $("act-meta").textContent = T.states[a.state] + (a.overdue ? " · ⚠ " + T.overdue : "") +
        (a.client ? " · " + a.client.name : "") + " · " +
        a.assignees.map(function (p) { return p.name; }).join(", ");
      renderComments(a.comments);
      fillNotice(a);
      $("act-history").innerHTML = a.history.map(function (h) {
        return "<li>" + esc(h.text) + "</li>"; }).join("");
      $("act-error").hidden = true;
      showFields(a.type.code || String(a.type.id));
      X.fill(a);
      $("act-dialog").showModal();
    }).catch(function (e) { showError($("cal-error"), e); });
  }
  function renderComments(comments) {
    // K-2: the same comments as the task's topic in the team group
    $("act-comments").innerHTML = comments.map(function (c) {
      return '<li class="row"><div class="main"><div class="name">' + esc(c.author) +
        ' <span class="hint">' + esc(new Date(c.created_at).toLocaleString(locale)) +
        "</span></div><div>" + esc(c.text) + "</div></div></li>"; }).join("");
  }
  function sendComment() {
    var text = $("act-comment").value.trim();
    if (!text || !S.editing) return;
    api("POST", "/api/v1/activities/" + S.editing.id + "/comments", {text: text})
      .then(function (a) { $("act-comment").value = ""; renderComments(a.comments); })
      .catch(function (e) { showError($("act-error"), e); });
  }
  function formBody() {
    var f = $("act-form"), body = {
      title: f.elements.title.value.trim(), type: f.elements.type.value,
      priority: f.elements.priority.value
    };
    var start = f.elements.starts_at.value;
    body.starts_at = start ? new Date(start).toISOString() : null;
    var minutes = parseInt(f.elements.duration_min.value, 10);
    if (minutes > 0 && start) body.ends_at = new Date(new Date(start).getTime() +
                                                      minutes * 60000).toISOString();
    ["goal", "location", "agenda", "minutes", "result"].forEach(function (k) {
      var el = f.elements[k];
      if (!el.closest("label").hidden) body[k] = el.value.trim() || null;
    });
    if (!$("act-notice").hidden) {  // the template chosen and the hours, or neither
      var tpl = parseInt(f.elements.client_notice_template_id.value, 10);
      var hours = parseInt(f.elements.client_notice_hours.value, 10);
      body.client_notice_template_id = tpl > 0 ? tpl : null;
      body.client_notice_hours = tpl > 0 ? (hours > 0 ? hours : 24) : null;
    }
    return body;
  }
  function save() {
    var body = formBody(), req;
    try { Object.assign(body, X.body(!S.editing)); }
    catch (e) { showError($("act-error"), e); return; }  // the form keeps what was typed
    var decisions = $("act-form").elements.decisions.value.split("\n").map(function (x) {
      return x.trim(); }).filter(Boolean);
    delete body.decisions;
    if (S.editing) {
      var id = S.editing.id;
      req = api("PATCH", "/api/v1/activities/" + id, body).then(function (r) {
        // K-11: each decision of the meeting becomes a task in one step
        return decisions.length ? api("POST", "/api/v1/activities/" + id + "/decisions",
          {decisions: decisions.map(function (t) { return {title: t}; })}) : r;
      }).then(function () { return X.afterSave(id); });
    } else {
      delete body.minutes; delete body.result;
      if (S.person !== S.me && !body.assignees) body.assignees = [S.person];
      Object.keys(body).forEach(function (k) { if (body[k] === null) delete body[k]; });
      req = api("POST", "/api/v1/activities", body).then(function (a) {
        return X.afterSave(a.id); });
    }
    req.then(function () { $("act-dialog").close(); load(); })
      .catch(function (e) { showError($("act-error"), e); });  // the form keeps what was typed
  }
  function done() {
    var result = $("act-form").elements.result.value.trim() || null;
    api("POST", "/api/v1/activities/" + S.editing.id + "/complete", {result: result})
      .then(function () { $("act-dialog").close(); load(); })
      .catch(function (e) { showError($("act-error"), e); });
  }

  function discuss() {
    // K-2: the task's topic in the team's forum group (made on the first press)
    api("POST", "/api/v1/activities/" + S.editing.id + "/discussion").then(function (d) {
      if (d.link) {
        var tg = window.Telegram && window.Telegram.WebApp;
        if (tg && tg.openTelegramLink) tg.openTelegramLink(d.link); else window.open(d.link);
      } else showError($("act-error"), new Error(T.no_group));
    }).catch(function (e) { showError($("act-error"), e); });
  }

  // --- toolbar ------------------------------------------------------------------------
  function step(n) {
    if (S.view === "month") S.day = new Date(S.day.getFullYear(), S.day.getMonth() + n, 1);
    else S.day = addDays(S.day, n * (S.view === "day" ? 1 : 7));
    load();
  }
  function start() {
    $("cal-view").value = S.view;
    $("cal-view").addEventListener("change", function (e) { S.view = e.target.value; load(); });
    $("cal-colour").addEventListener("change", function (e) { S.colour = e.target.value; render(); });
    $("cal-person").addEventListener("change", function (e) {
      S.person = parseInt(e.target.value, 10); load(); });
    $("cal-prev").addEventListener("click", function () { step(-1); });
    $("cal-next").addEventListener("click", function () { step(1); });
    $("cal-today").addEventListener("click", function () { S.day = startOfDay(new Date()); load(); });
    $("cal-new").addEventListener("click", function () {
      var d = new Date(); d.setMinutes(0, 0, 0); openNew(new Date(d.getTime() + 3600000)); });
    $("act-save").addEventListener("click", save);
    $("act-done").addEventListener("click", done);
    $("act-discuss").addEventListener("click", discuss);
    $("act-comment-send").addEventListener("click", sendComment);
    $("act-close").addEventListener("click", function () { $("act-dialog").close(); });
    $("act-form").elements.type.addEventListener("change", function (e) {
      showFields(e.target.value); });
    $("act-form").elements.client_notice_template_id.addEventListener("change", function (e) {
      var hours = $("act-form").elements.client_notice_hours;
      if (e.target.value && !hours.value) hours.value = 24;
    });
    Promise.all([api("GET", "/api/v1/activity-types"), api("GET", "/api/v1/calendar-people"),
                 api("GET", "/api/v1/templates").catch(function () { return {items: []}; })])
      .then(function (r) {
        S.types = r[0].types;
        S.templates = r[2].items;
        return X.init(r[0]).then(function () { return r; });
      }).then(function (r) {
        $("cal-person").innerHTML = r[1].items.map(function (p) {
          return '<option value="' + p.id + '"' + (p.id === S.person ? " selected" : "") + ">" +
            esc(p.name) + "</option>"; }).join("");
        root.dataset.ready = "1";
        // from the home page: ?open=<id>, ?new=1, ?view=overdue
        var q = new URLSearchParams(window.location.search);
        if (q.get("view") && $("cal-view").querySelector('option[value="' + q.get("view") + '"]')) {
          S.view = q.get("view"); $("cal-view").value = S.view; }
        if (/^\d+$/.test(q.get("open") || "")) openItem(parseInt(q.get("open"), 10));
        else if (q.get("new") === "1") $("cal-new").click();
        return load();
      }).catch(function (e) { showError($("cal-error"), e); });
  }
  window.kontaktCalendar = {reload: load, state: S};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

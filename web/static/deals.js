/* Deals in the Mini App (issue 12: U-1, U-2, U-6).
   * The pipeline (/app/deals): on a phone one stage at a time — its chip chosen in a
     strip that scrolls sideways, or a swipe left/right over the deals — and on a wide
     screen (≥ 900 px) every stage as a column; "Show more" pages within a stage.
   * The "Move to…" bottom sheet: the process's stages (a stage whose requirements are
     missing says why); lost asks the reason from a list and, if known, the competitor
     who won, picked from one's clients by search.
   * The new-deal form, the deal card's form, task, team, won and archive; the card's
     probability override (U-5) and a claim's fields (U-7), a refusal to close a claim
     shown next to them. The deal's environment (U-4) is deal_env.js.
   A refusal is shown next to its field (the 422's loc), what was typed stays. */
(function () {
  "use strict";
  var K = window.kontakt;  // app.js
  var T = JSON.parse(document.getElementById("deals-i18n").textContent);
  var lang = document.documentElement.lang || "ru";
  var locale = {ru: "ru-RU", uk: "uk-UA", en: "en-GB"}[lang] || "ru-RU";
  var PER_PAGE = 20;
  var WIDE = "(min-width: 900px)";

  function $(id) { return document.getElementById(id); }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  // a JSON call; a refusal rejects with {message, detail, status}
  function call(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw {message: K.detailText(j.detail, r.status), detail: j.detail,
                          status: r.status};
        return j;
      });
    }, function () { throw {message: T.failed, detail: null, status: 0}; });
  }
  function money(amount, currency, compact) {
    if (amount === null || amount === undefined) return "";
    var n = Number(amount);
    var opts = compact ? {style: "currency", currency: currency, notation: "compact",
                          maximumFractionDigits: 1} :
      {style: "currency", currency: currency, minimumFractionDigits: n % 1 ? 2 : 0,
       maximumFractionDigits: 2};
    try { return new Intl.NumberFormat(locale, opts).format(n); }
    catch (e) { return amount + " " + currency; }
  }
  function sums(amounts, compact) {
    return Object.keys(amounts || {}).filter(function (c) { return Number(amounts[c]); })
      .map(function (c) { return money(amounts[c], c, compact); }).join(" + ");
  }
  function when(iso) {
    return new Date(iso).toLocaleString(locale, {day: "2-digit", month: "2-digit",
                                                 hour: "2-digit", minute: "2-digit"});
  }

  // ---- refusals next to their fields -------------------------------------------------
  function general(form) { return form.querySelector('[data-error-for=""]'); }
  function clearErrors(form) {
    each(form.querySelectorAll("[data-error-for]"), function (p) {
      p.hidden = true; p.textContent = ""; });
    each(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid"); });
  }
  function showErrors(form, err) {
    clearErrors(form);
    var items = Array.isArray(err.detail) ? err.detail : [null];
    items.forEach(function (d) {
      var name = d && d.loc && d.loc.length > 1 ? String(d.loc[1]) : "";
      var box = name && form.querySelector('[data-error-for="' + name + '"]');
      var text = d ? d.msg : err.message;
      if (!box) {  // not a field of this form: say which one
        box = general(form);
        if (d && d.field) text = d.field + ": " + d.msg;
      } else {
        var field = form.elements[name] || form.elements[name.replace(/_id$/, "")];
        if (field && field.setAttribute) field.setAttribute("aria-invalid", "true");
      }
      box.textContent = box.hidden ? text : box.textContent + "; " + text;
      box.hidden = false;
    });
    var first = form.querySelector("[data-error-for]:not([hidden])");
    if (first && first.scrollIntoView) first.scrollIntoView({block: "center"});
  }

  // ---- a client picked by search -----------------------------------------------------
  function picker(input, list, chosen, onPick, exceptId) {
    var timer = null;
    function clear() { list.innerHTML = ""; }
    input.oninput = function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { clear(); return; }
      timer = setTimeout(function () {
        call("GET", "/api/v1/clients?per_page=8&q=" + encodeURIComponent(q)).then(function (j) {
          clear();
          var found = j.items.filter(function (c) { return c.id !== exceptId; });
          if (!found.length) list.appendChild(make("li", {class: "hint"}, T.nothing_found));
          found.forEach(function (c) {
            var li = make("li");
            var b = make("button", {type: "button", class: "pick-row", "data-testid": "client-pick"},
                         c.name);
            b.onclick = function () {
              clear(); input.value = ""; input.hidden = true;
              chosen.querySelector("span").textContent = c.name; chosen.hidden = false;
              onPick(c);
            };
            li.appendChild(b); list.appendChild(li);
          });
        }, function (e) { clear(); list.appendChild(make("li", {class: "error"}, e.message)); });
      }, 250);
    };
    chosen.querySelector("button").onclick = function () {
      chosen.hidden = true; input.hidden = false; input.value = ""; clear(); input.focus();
      onPick(null);
    };
    return function reset() {
      chosen.hidden = true; input.hidden = false; input.value = ""; clear(); onPick(null);
    };
  }

  // ---- the "Move to…" sheet ------------------------------------------------------------
  var M = {deal: null, done: null, competitor: null, resetCompetitor: null};
  function sheet() { return $("move-sheet"); }
  function step(name) {
    each(sheet().querySelectorAll("[data-step]"), function (el) {
      el.hidden = el.getAttribute("data-step") !== name; });
  }
  function renderStages(deal) {
    var ul = sheet().querySelector("[data-testid=sheet-stages]");
    var refused = {};
    deal.moves.forEach(function (m) { refused[m.stage.id] = m.refused; });
    ul.innerHTML = "";
    deal.stages.forEach(function (s) {
      var li = make("li");
      var b = make("button", {type: "button", class: "stage-pick kind-" + s.kind,
                              "data-testid": "sheet-stage", "data-stage-id": String(s.id),
                              "data-kind": s.kind});
      b.appendChild(make("span", {class: "icon", "aria-hidden": "true"}, T.kinds[s.kind]));
      var main = make("span", {class: "main"});
      main.appendChild(make("span", {class: "name"}, s.name));
      if (s.id === deal.stage.id) {
        main.appendChild(make("span", {class: "sub"}, T.here));
        b.disabled = true; b.setAttribute("aria-current", "step");
      } else if (refused[s.id]) {
        main.appendChild(make("span", {class: "sub", "data-testid": "sheet-refused"},
                              refused[s.id]));
        b.disabled = true;
      }
      b.appendChild(main);
      b.onclick = function () { if (s.kind === "lost") lostStep(s); else move(s.id, {}); };
      li.appendChild(b); ul.appendChild(li);
    });
  }
  function lostStep(stage) {
    M.lostStage = stage;
    var form = sheet().querySelector("form");
    clearErrors(form);
    // a claim is rejected for its own reasons; a claim or an execution has no competitor
    var kind = M.deal ? M.deal.process.kind : "sale";
    var reasons = kind === "claim" ? "claim" : "sale";
    each(form.querySelectorAll("[data-reasons]"), function (f) {
      f.hidden = f.getAttribute("data-reasons") !== reasons; });
    form.querySelector("[data-testid=lost-competitor-part]").hidden =
      kind === "claim" || kind === "execution";
    var confirm = form.querySelector("[data-testid=lost-confirm]");
    confirm.textContent = kind === "sale" || kind === "partner"
      ? confirm.getAttribute("data-sale-label") : T.kinds.lost + " " + stage.name;
    step("lost");
    sheet().querySelector("[data-testid=move-sheet-title]").textContent =
      T.kinds.lost + " " + stage.name + (M.deal ? " · " + M.deal.title : "");
  }
  function move(stageId, extra) {
    var form = sheet().querySelector("form");
    clearErrors(form);
    var body = {stage_id: stageId};
    Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
    each(form.querySelectorAll("button"), function (b) { b.dataset.was = b.disabled ? "1" : "";
                                                         b.disabled = true; });
    var release = function () {
      each(form.querySelectorAll("button"), function (b) { b.disabled = b.dataset.was === "1"; });
    };
    return call("POST", "/api/v1/deals/" + M.deal.id + "/move", body).then(function (j) {
      release(); sheet().close(); M.done(j.deal);
    }, function (e) { release(); if (!claimRefusal(e)) showErrors(form, e); });
  }
  function openMove(dealId, start, done) {
    var dlg = sheet(), form = dlg.querySelector("form");
    M.done = done || function () { window.location.reload(); };
    M.deal = null; M.competitor = null;
    clearErrors(form);
    each(form.querySelectorAll("input[type=radio]"), function (r) { r.checked = false; });
    if (!M.resetCompetitor) {
      M.resetCompetitor = picker(form.elements.competitor,
        form.querySelector("[data-testid=competitor-results]"),
        form.querySelector("[data-testid=competitor-chosen]"),
        function (c) { M.competitor = c; }, null);
      form.querySelector("[data-testid=lost-back]").onclick = function () {
        clearErrors(form); step("stages");
        dlg.querySelector("[data-testid=move-sheet-title]").textContent =
          M.deal ? T.move_title.replace("{title}", M.deal.title) : T.move_to;
      };
      form.querySelector("[data-testid=sheet-cancel]").onclick = function () { dlg.close(); };
      form.querySelector("[data-testid=lost-confirm]").onclick = function () {
        var reason = form.querySelector(
          "fieldset:not([hidden]) > label > input[name=lost_reason_id]:checked");
        if (!reason) {
          showErrors(form, {detail: [{loc: ["body", "lost_reason_id"], msg:
            M.deal && M.deal.process.kind === "claim" ? T.choose_claim_reason : T.choose_reason}]});
          return;
        }
        var extra = {lost_reason_id: parseInt(reason.value, 10)};
        if (M.competitor && !form.querySelector("[data-testid=lost-competitor-part]").hidden)
          extra.competitor_id = M.competitor.id;
        move(M.lostStage.id, extra);
      };
      each(form.querySelectorAll("input[name=lost_reason_id]"), function (r) {
        r.addEventListener("change", function () {
          var p = form.querySelector("[data-error-for=lost_reason_id]");
          p.hidden = true; p.textContent = "";
        });
      });
      dlg.addEventListener("click", function (e) {  // a tap on the backdrop closes it
        if (e.target === dlg) dlg.close(); });
    }
    M.resetCompetitor();
    step("stages");
    var ul = form.querySelector("[data-testid=sheet-stages]");
    ul.innerHTML = "";
    ul.appendChild(make("li", {class: "hint"}, "…"));
    dlg.querySelector("[data-testid=move-sheet-title]").textContent = T.move_to;
    if (!dlg.open) dlg.showModal();
    call("GET", "/api/v1/deals/" + dealId).then(function (deal) {
      M.deal = deal;
      dlg.querySelector("[data-testid=move-sheet-title]").textContent =
        T.move_title.replace("{title}", deal.title);
      renderStages(deal);
      if (start === "lost") {
        var lost = deal.stages.filter(function (s) { return s.kind === "lost"; })[0];
        if (lost && lost.id !== deal.stage.id) lostStep(lost);
      }
    }, function (e) { ul.innerHTML = ""; showErrors(form, e); });
  }

  // ---- the pipeline ------------------------------------------------------------------------
  var P = null;
  function wide() { return window.matchMedia(WIDE).matches; }
  function ownerQuery() {
    return P.owner === "mine" ? "&mine=true" : P.owner ? "&owner_id=" + P.owner : "";
  }
  function pipeError(e) {
    var el = $("pipe-error");
    if (!e) { el.hidden = true; return; }
    el.textContent = e.message; el.hidden = false;
  }
  function refresh() {
    return call("GET", "/api/v1/deal-pipeline?process_id=" + P.process + ownerQuery())
      .then(function (j) {
        pipeError(null);
        P.stages = j.stages;
        if (P.want) {
          P.stages.forEach(function (s, i) { if (s.stage.id === P.want) P.index = i; });
          P.want = null;
        }
        P.index = Math.max(0, Math.min(P.index, P.stages.length - 1));
        render(0);
      }, pipeError);
  }
  function chipText(s) {
    return [s.stage.name, s.count, sums(s.amounts, true)];
  }
  function renderChips() {
    var box = $("pipe-chips");
    box.innerHTML = "";
    P.stages.forEach(function (s, i) {
      var t = chipText(s);
      var b = make("button", {type: "button", role: "tab", class: "stage-chip kind-" + s.stage.kind,
                              "data-testid": "stage-chip", "data-stage-id": String(s.stage.id),
                              "aria-selected": i === P.index ? "true" : "false"});
      var top = make("span", {class: "top"});
      top.appendChild(make("span", {class: "name"}, t[0]));
      top.appendChild(make("span", {class: "count", "data-testid": "stage-count"}, String(t[1])));
      b.appendChild(top);
      b.appendChild(make("span", {class: "sum", "data-testid": "stage-sum"}, t[2] || "—"));
      b.onclick = function () { select(i, 0); };
      box.appendChild(b);
    });
    var on = box.children[P.index];
    if (on) {  // the chosen chip in view, the page itself does not move
      var left = on.offsetLeft - (box.clientWidth - on.offsetWidth) / 2;
      box.scrollTo({left: Math.max(0, left), behavior: "smooth"});
    }
  }
  function render(direction) {
    var board = $("pipe-board");
    P.root.classList.toggle("wide", wide());
    renderChips();
    board.innerHTML = "";
    if (!P.stages.length) return;
    if (wide()) P.stages.forEach(function (s) { board.appendChild(column(s, true)); });
    else {
      var col = column(P.stages[P.index], false);
      if (direction) col.classList.add(direction > 0 ? "from-right" : "from-left");
      board.appendChild(col);
    }
  }
  function select(i, direction) {
    if (i < 0 || i >= P.stages.length) return;
    P.index = i;
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "/app/deals?process=" + P.process + "&stage=" +
                           P.stages[i].stage.id);
    }
    render(direction);
    var top = $("pipe-chips").getBoundingClientRect().top;
    if (top < 0) window.scrollBy(0, top - 8);  // the new stage from its start
  }
  function column(s, withHead) {
    var col = make("section", {class: "pipe-col kind-" + s.stage.kind, "data-testid": "stage-column",
                               "data-stage-id": String(s.stage.id)});
    if (withHead) {
      var h = make("h2", {class: "col-head"});
      h.appendChild(make("span", {class: "name"}, s.stage.name));
      h.appendChild(make("span", {class: "count"}, String(s.count)));
      col.appendChild(h);
      col.appendChild(make("p", {class: "hint sum"}, sums(s.amounts, false) || "—"));
    }
    var list = make("div", {class: "deal-list", "data-testid": "stage-deals"});
    var more = make("button", {type: "button", class: "more", "data-testid": "stage-more"}, T.more);
    more.hidden = true;
    col.appendChild(list); col.appendChild(more);
    load(s.stage.id, list, more, 1);
    return col;
  }
  function load(stageId, list, more, page) {
    more.disabled = true;
    call("GET", "/api/v1/deals?state=all&process_id=" + P.process + "&stage_id=" + stageId +
         "&per_page=" + PER_PAGE + "&page=" + page + ownerQuery()).then(function (j) {
      more.disabled = false;
      if (page === 1 && !j.items.length) {
        list.appendChild(make("p", {class: "hint", "data-testid": "stage-empty"}, T.empty));
      }
      j.items.forEach(function (d) { list.appendChild(dealCard(d)); });
      more.hidden = page * PER_PAGE >= j.total;
      more.onclick = function () { load(stageId, list, more, page + 1); };
    }, function (e) { more.disabled = false; pipeError(e); });
  }
  function dealCard(d) {
    var card = make("article", {class: "deal-card", "data-testid": "deal-card",
                                "data-deal-id": String(d.id)});
    var title = make("a", {class: "title", href: "/app/deals/" + d.id, "data-testid": "deal-link"},
                     d.title);
    card.appendChild(title);
    var sub = make("div", {class: "sub"});
    sub.appendChild(make("span", {class: "client"}, d.client.name));
    if (d.amount !== null) {
      sub.appendChild(make("b", {class: "money", "data-testid": "deal-money"},
                           money(d.amount, d.currency)));
    }
    card.appendChild(sub);
    if (d.next_step) {
      card.appendChild(make("div", {class: "next", "data-testid": "deal-next"},
                            "📅 " + when(d.next_step.at) + " · " + d.next_step.title));
    } else if (d.no_next_step) {
      card.appendChild(make("div", {class: "next warn", "data-testid": "deal-no-next"},
                            T.no_next_step));
    }
    var foot = make("div", {class: "foot"});
    foot.appendChild(make("span", {class: "hint", "data-testid": "deal-days"},
                          T.in_stage.replace("{n}", d.days_in_stage)));
    var b = make("button", {type: "button", class: "chip", "data-testid": "deal-move"}, T.move_to);
    b.onclick = function () { openMove(d.id, null, function () { refresh(); }); };
    foot.appendChild(b);
    card.appendChild(foot);
    return card;
  }
  function swipes(board) {
    var x0 = 0, y0 = 0, dx = 0, on = false, sideways = null;
    function pane() { return board.firstElementChild; }
    board.addEventListener("touchstart", function (e) {
      if (wide() || e.touches.length !== 1) return;
      on = true; sideways = null; dx = 0;
      x0 = e.touches[0].clientX; y0 = e.touches[0].clientY;
    }, {passive: true});
    board.addEventListener("touchmove", function (e) {
      if (!on) return;
      var t = e.touches[0], dy = t.clientY - y0;
      dx = t.clientX - x0;
      if (sideways === null && (Math.abs(dx) > 8 || Math.abs(dy) > 8)) {
        sideways = Math.abs(dx) > Math.abs(dy);
      }
      if (sideways && pane()) pane().style.transform = "translateX(" + dx + "px)";
    }, {passive: true});
    function end() {
      if (!on) return;
      on = false;
      if (pane()) pane().style.transform = "";
      if (!sideways || Math.abs(dx) < 50) return;
      var next = P.index + (dx < 0 ? 1 : -1);
      if (next >= 0 && next < P.stages.length) select(next, dx < 0 ? 1 : -1);
    }
    board.addEventListener("touchend", end);
    board.addEventListener("touchcancel", function () {
      on = false; if (pane()) pane().style.transform = ""; });
  }
  function pipeline() {
    var root = $("pipeline");
    P = {root: root, process: parseInt(root.dataset.process, 10),
         want: parseInt(root.dataset.stage, 10) || null, owner: "", stages: [], index: 0};
    if (!P.process) return;
    var process = $("pipe-process"), owner = $("pipe-owner");
    if (process) process.onchange = function () {
      P.process = parseInt(process.value, 10); P.index = 0; P.want = null;
      if (history.replaceState) history.replaceState(null, "", "/app/deals?process=" + P.process);
      var pick = document.querySelector("[data-testid=deal-new-process]");
      if (pick) pick.value = process.value;
      refresh();
    };
    if (owner) owner.onchange = function () { P.owner = owner.value; refresh(); };
    swipes($("pipe-board"));
    var mq = window.matchMedia(WIDE);
    var flip = function () { if (P.stages.length) render(0); };
    if (mq.addEventListener) mq.addEventListener("change", flip); else mq.addListener(flip);
    refresh();
  }

  // ---- the new-deal form ----------------------------------------------------------------
  var N = {ready: false, reset: null};
  function newDeal() {
    var dlg = $("deal-new"), form = dlg.querySelector("form");
    if (!N.ready) {
      N.ready = true;
      var input = form.elements.client;
      if (input) {
        N.reset = picker(input, form.querySelector("[data-testid=deal-new-clients]"),
          form.querySelector("[data-testid=deal-new-chosen]"),
          function (c) { form.elements.client_id.value = c ? c.id : ""; }, null);
      }
      form.onsubmit = function () { createDeal(form); return false; };
    }
    clearErrors(form);
    dlg.showModal();
  }
  function createDeal(form) {
    var el = form.elements, body = {};
    var clientId = parseInt(el.client_id.value, 10);
    if (!clientId) {
      showErrors(form, {detail: [{loc: ["body", "client_id"], msg: T.choose_client}]});
      return;
    }
    body.client_id = clientId;
    if (el.process_id) body.process_id = parseInt(el.process_id.value, 10);
    ["title", "amount", "currency", "expected_close"].forEach(function (k) {
      var v = el[k].value.trim(); if (v) body[k] = v; });
    var save = form.querySelector("[data-testid=deal-new-save]");
    save.disabled = true;  // one tap, one deal
    call("POST", "/api/v1/deals", body).then(function (d) {
      window.location.href = "/app/deals/" + d.id;
    }, function (e) { save.disabled = false; showErrors(form, e); });
  }

  // ---- the deal card ----------------------------------------------------------------------
  function actionError(e) {
    var el = document.querySelector("[data-testid=deal-action-error]");
    el.textContent = e.message; el.hidden = false;
  }
  function save(form, id) {
    var el = form.elements, body = {};
    body.title = el.title.value;
    body.amount = el.amount.value.trim() || null;
    body.currency = el.currency.value;
    body.expected_close = el.expected_close.value || null;
    body.notes = el.notes.value.trim() || null;
    ["contact_id", "source_id", "owner_id"].forEach(function (k) {
      if (el[k]) body[k] = el[k].value ? parseInt(el[k].value, 10) : null; });
    var ok = form.querySelector("[data-testid=deal-saved]");
    ok.hidden = true;
    call("PATCH", "/api/v1/deals/" + id, body).then(function () {
      clearErrors(form); ok.hidden = false;
      window.location.reload();
    }, function (e) { showErrors(form, e); });
    return false;
  }
  function addTask(form, id) {
    var el = form.elements, body = {title: el.title.value.trim(), type: el.type.value};
    if (el.starts_at.value) body.starts_at = new Date(el.starts_at.value).toISOString();
    call("POST", "/api/v1/deals/" + id + "/activities", body).then(function () {
      window.location.reload();
    }, function (e) { showErrors(form, e); });
    return false;
  }
  function team(id, ids) {
    var err = document.querySelector("[data-testid=deal-team-error]");
    call("PUT", "/api/v1/deals/" + id + "/team", {user_ids: ids}).then(function () {
      window.location.reload();
    }, function (e) { err.textContent = e.message; err.hidden = false; });
  }
  function win(id) {
    call("POST", "/api/v1/deals/" + id + "/win").then(function () {
      window.location.reload(); }, function (e) { if (!claimRefusal(e)) actionError(e); });
  }

  // ---- a claim's fields (U-7): a refusal to close it is shown next to them ----------------
  var CLAIM_FIELDS = ["resolution", "our_fault", "parent_id", "product_id"];
  function claimRefusal(e) {
    var form = document.querySelector("[data-testid=claim-form]");
    var d = Array.isArray(e.detail) ? e.detail[0] : null;
    if (!form || !d || !d.loc || CLAIM_FIELDS.indexOf(String(d.loc[1])) < 0) return false;
    if (sheet() && sheet().open) sheet().close();
    showErrors(form, e);
    return true;
  }
  function saveClaim(form, id) {
    var el = form.elements, body = {};
    ["parent_id", "product_id"].forEach(function (k) {
      body[k] = el[k].value ? parseInt(el[k].value, 10) : null; });
    body.resolution = el.resolution.value.trim() || null;
    var fault = form.querySelector("input[name=our_fault]:checked");
    body.our_fault = !fault || fault.value === "" ? null : fault.value === "true";
    var ok = form.querySelector("[data-testid=claim-saved]");
    ok.hidden = true;
    call("PATCH", "/api/v1/deals/" + id, body).then(function () {
      clearErrors(form); ok.hidden = false;
      window.location.reload();
    }, function (e) { showErrors(form, e); });
    return false;
  }

  // ---- the probability: one's own figure, or back to Kontakt's (U-5) ----------------------
  function overrideOpen() {
    var form = document.querySelector("[data-testid=deal-override-form]");
    clearErrors(form);
    form.hidden = false;
    form.elements.probability_override.focus();
  }
  function overrideSave(form, id) {
    var raw = form.elements.probability_override.value.trim();
    // a whole number goes as one; anything else as typed, for the refusal to name it
    override(id, /^\d+$/.test(raw) ? parseInt(raw, 10) : raw, form);
    return false;
  }
  function override(id, value, form) {
    call("PATCH", "/api/v1/deals/" + id, {probability_override: value}).then(function () {
      window.location.reload();
    }, function (e) { if (form) showErrors(form, e); else actionError(e); });
  }

  function archive(id) {
    if (!window.confirm(T.sure_archive)) return;
    call("POST", "/api/v1/deals/" + id + "/archive").then(function () {
      window.location.href = "/app/deals"; }, actionError);
  }

  window.kontaktDeals = {pipeline: pipeline, openMove: openMove, newDeal: newDeal,
                         save: save, addTask: addTask, team: team, win: win,
                         archive: archive, saveClaim: saveClaim, overrideOpen: overrideOpen,
                         overrideSave: overrideSave, override: override,
                         // what deal_env.js builds on
                         kit: {T: T, $: $, each: each, call: call, clearErrors: clearErrors,
                               showErrors: showErrors, picker: picker,
                               actionError: actionError}};
})();

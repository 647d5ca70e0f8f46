/* The deal's environment on the deal card (U-4): the people and companies around the
   deal — a client picked by search, a contact person of the deal's client, or only a
   name — their role and stance, and who influences whom. A refusal is shown next to its
   field, what was typed stays. Builds on deals.js (loaded by deal.html after it). */
(function () {
  "use strict";
  var D = window.kontaktDeals;  // deals.js
  var kit = D.kit, T = kit.T, $ = kit.$, each = kit.each, call = kit.call;
  var clearErrors = kit.clearErrors, showErrors = kit.showErrors, picker = kit.picker,
      actionError = kit.actionError;

  var E = {ready: false, editing: null, resetClient: null};
  function envData() { return JSON.parse($("deal-env-data").textContent); }
  function dealRoot() { return $("deal"); }
  function chosenMode(form) {
    var r = form.querySelector("input[name=mode]:checked");
    return r ? r.value : "name";
  }
  function showMode(form) {
    var mode = chosenMode(form);
    each(form.querySelectorAll("[data-mode]"), function (box) {
      box.hidden = box.getAttribute("data-mode") !== mode; });
  }
  function fitRole(form, env) {
    var company = env.company_roles.indexOf(form.elements.role.value) >= 0;
    each(form.querySelectorAll("input[name=mode]"), function (r) {
      r.disabled = company && r.value !== "client";
      if (company && r.value === "client") r.checked = true;
    });
    form.querySelector("[data-testid=party-company-only]").hidden = !company;
    showMode(form);
  }
  function setMode(form, mode) {
    var r = form.querySelector("input[name=mode][value=" + mode + "]") ||
      form.querySelector("input[name=mode][value=name]");
    r.checked = true;
  }
  function editParty(partyId) {
    var dlg = $("party-sheet"), form = dlg.querySelector("form"), env = envData();
    var root = dealRoot(), dealId = parseInt(root.dataset.dealId, 10);
    var chosen = form.querySelector("[data-testid=party-client-chosen]");
    if (!E.ready) {
      E.ready = true;
      E.resetClient = picker(form.elements.client, form.querySelector("[data-testid=party-clients]"),
        chosen, function (c) {
          form.elements.client_id.value = c ? c.id : "";
          if (c) {
            var p = form.querySelector("[data-error-for=client_id]");
            p.hidden = true; p.textContent = "";
          }
        },
        parseInt(root.dataset.clientId, 10));
      form.elements.role.onchange = function () { fitRole(form, envData()); };
      each(form.querySelectorAll("input[name=mode]"), function (r) {
        r.onchange = function () { showMode(form); }; });
      form.onsubmit = function () { saveParty(form, dealId); return false; };
      dlg.addEventListener("click", function (e) { if (e.target === dlg) dlg.close(); });
    }
    clearErrors(form);
    var p = partyId ? env.parties.filter(function (x) { return x.id === partyId; })[0] : null;
    E.editing = p || null;
    dlg.querySelector("[data-testid=party-sheet-title]").textContent =
      p ? T.edit_party.replace("{who}", p.who) : T.add_party;
    form.elements.role.value = p ? p.role : "decision_maker";
    E.resetClient();
    if (p && p.client) {
      form.elements.client_id.value = p.client.id;
      chosen.querySelector("span").textContent = p.client.name;
      chosen.hidden = false; form.elements.client.hidden = true;
    }
    if (form.elements.contact_id && p && p.contact) form.elements.contact_id.value = p.contact.id;
    form.elements.name.value = p && p.name ? p.name : "";
    form.elements.note.value = p && p.note ? p.note : "";
    var stance = form.querySelector("input[name=stance][value=" + (p ? p.stance : "unknown") + "]");
    if (stance) stance.checked = true;
    setMode(form, p ? (p.client ? "client" : p.contact ? "contact" : "name") :
            form.elements.contact_id ? "contact" : "name");
    fitRole(form, env);
    dlg.showModal();
  }
  function saveParty(form, dealId) {
    var el = form.elements, mode = chosenMode(form);
    var stance = form.querySelector("input[name=stance]:checked");
    var body = {role: el.role.value, stance: stance ? stance.value : "unknown",
                note: el.note.value.trim() || null, client_id: null, contact_id: null,
                name: null};
    if (mode === "client") {
      if (!el.client_id.value) {
        showErrors(form, {detail: [{loc: ["body", "client_id"], msg: T.choose_who}]});
        return;
      }
      body.client_id = parseInt(el.client_id.value, 10);
    } else if (mode === "contact") {
      body.contact_id = el.contact_id.value ? parseInt(el.contact_id.value, 10) : null;
    } else {
      body.name = el.name.value.trim();
    }
    var save = form.querySelector("[data-testid=party-save]");
    save.disabled = true;  // one tap, one party
    var url = "/api/v1/deals/" + dealId + "/parties";
    var req = E.editing ? call("PATCH", url + "/" + E.editing.id, body) : call("POST", url, body);
    req.then(function () { window.location.reload(); },
             function (e) { save.disabled = false; showErrors(form, e); });
  }
  function removeParty(dealId, partyId) {
    var p = envData().parties.filter(function (x) { return x.id === partyId; })[0];
    if (!window.confirm(T.sure_remove_party.replace("{who}", p ? p.who : ""))) return;
    call("DELETE", "/api/v1/deals/" + dealId + "/parties/" + partyId).then(function () {
      window.location.reload(); }, actionError);
  }
  function link(form, dealId) {
    var el = form.elements;
    call("POST", "/api/v1/deals/" + dealId + "/links", {
      from_id: parseInt(el.from_id.value, 10), to_id: parseInt(el.to_id.value, 10),
      kind: el.kind.value}).then(function () { window.location.reload(); },
                                 function (e) { showErrors(form, e); });
    return false;
  }
  function unlink(dealId, linkId) {
    call("DELETE", "/api/v1/deals/" + dealId + "/links/" + linkId).then(function () {
      window.location.reload(); }, actionError);
  }

  D.editParty = editParty; D.removeParty = removeParty; D.link = link; D.unlink = unlink;
})();

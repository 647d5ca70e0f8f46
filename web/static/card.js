// The client card's actions over the JSON API: contact people (S-3), managers (S-6),
// legal entities (S-1), links to other clients (U-3), the card's fields (S-4, A-16),
// files, email and SMS, custom fields, playbooks, the classifier. They join
// app.js's window.kontakt, so the card's buttons call kontakt.<name>; the rules stay
// in the services. Loaded by client.html after app.js.
(function () {
  "use strict";
  // a button's request (asked first, if ``question``): the page again, or why not
  function act(method, url, question) {
    if (question && !window.confirm(question)) return false;
    window.kontakt.api(method, url)
      .then(function () { window.location.reload(); })
      .catch(function (e) { window.kontakt.tell(e.message); });
    return false;
  }
  // a form's thing saved, a change (PATCH ``url``) or a new one (POST ``newUrl``): the
  // page again, or the refusal in ``err`` with what was typed kept
  function save(err, url, newUrl, body) {
    window.kontakt.api(url ? "PATCH" : "POST", url || newUrl, body)
      .then(function () { window.location.reload(); })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  }
  var card = {
    // S-3: a contact person's form: new (button null) or filled from the row's data
    openContact: function (clientId, button) {
      var dialog = document.getElementById("contact-dialog"), form = dialog.querySelector("form");
      var data = button ? JSON.parse(button.dataset.contact) : {custom: {}};
      form.reset();
      form.elements.client_id.value = clientId;
      ["id", "first_name", "last_name", "middle_name", "position", "phones", "emails",
       "birthday", "notes"].forEach(function (k) { form.elements[k].value = data[k] || ""; });
      var iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(data.birthday || "");  // shown as 31.12.1980
      if (iso) form.elements.birthday.value = iso[3] + "." + iso[2] + "." + iso[1];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.name.indexOf("cf:") !== 0) return;
        var v = (data.custom || {})[el.name.slice(3)];
        if (el.dataset.type === "bool") el.checked = !!v;
        else if (el.dataset.type === "multichoice") Array.prototype.forEach.call(el.options,
          function (o) { o.selected = (v || []).indexOf(o.value) >= 0; });
        else el.value = v == null ? "" : v;
      });
      var heading = form.querySelector("[data-testid=contact-heading]");
      heading.textContent = button ? heading.dataset.edit : heading.dataset.new;
      form.querySelector("[data-testid=contact-archive]").hidden = !button;
      form.querySelector("[data-testid=contact-error]").hidden = true;
      dialog.showModal();
    },
    saveContact: function (form) {
      var body = {custom: {}}, id = form.elements.id.value;
      var list = function (v) { return v.split(/[,;]/).map(function (x) { return x.trim(); })
        .filter(Boolean); };
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.name === "id" || el.name === "client_id") return;
        if (el.name.indexOf("cf:") === 0) {
          var t = el.dataset.type, k = el.name.slice(3);
          if (t === "bool") body.custom[k] = el.checked;
          else if (t === "multichoice") body.custom[k] = Array.prototype.filter.call(
            el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
          else body.custom[k] = el.value.trim() || null;
        } else if (el.name === "phones" || el.name === "emails") body[el.name] = list(el.value);
        else if (el.name === "birthday") {
          var d = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(el.value.trim());
          body.birthday = d ? d[3] + "-" + ("0" + d[2]).slice(-2) + "-" + ("0" + d[1]).slice(-2) :
            (el.value.trim() || null);
        } else body[el.name] = el.value.trim() || null;
      });
      if (!Object.keys(body.custom).length) delete body.custom;
      return save(form.querySelector("[data-testid=contact-error]"),
                  id && "/api/v1/contacts/" + id,
                  "/api/v1/clients/" + form.elements.client_id.value + "/contacts", body);
    },
    contactAction: function (id, action) {
      return act("POST", "/api/v1/contacts/" + id + "/" + action);
    },
    // S-6: assign (POST) or unassign (DELETE) a manager of the client
    manager: function (clientId, userId, method) {
      if (!userId) return false;
      var url = "/api/v1/clients/" + clientId + "/managers" + (method === "DELETE" ?
        "/" + userId : "");
      window.kontakt.api(method, url, method === "POST" ? {user_id: parseInt(userId, 10)} :
        undefined).then(function () { window.location.reload(); })
        .catch(function (e) { window.kontakt.tell(e.message); });
      return false;
    },
    // S-1: a legal entity's form, new (button null) or filled from its row
    openLegal: function (clientId, button) {
      var dialog = document.getElementById("legal-dialog"), form = dialog.querySelector("form");
      var data = button ? JSON.parse(button.dataset.legal) : {country: "RU"};
      form.reset();
      form.elements.client_id.value = clientId;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.name !== "client_id") el.value = data[el.name] == null ? "" :
          data[el.name]; });
      if (!form.elements.country.value) form.elements.country.value = "RU";
      form.querySelector("[data-testid=legal-error]").hidden = true;
      dialog.showModal();
    },
    saveLegal: function (form) {
      var body = {}, id = form.elements.id.value;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.name !== "id" && el.name !== "client_id")
          body[el.name] = el.value.trim() || null; });
      if (id) delete body.country;  // a legal entity keeps its country
      return save(form.querySelector("[data-testid=legal-error]"),
                  id && "/api/v1/legal-entities/" + id,
                  "/api/v1/clients/" + form.elements.client_id.value + "/legal-entities", body);
    },
    legalAction: function (id, method, suffix, question) {
      return act(method, "/api/v1/legal-entities/" + id + suffix, question);
    },
    link: function (clientId, form) {
      var input = form.elements.other, err = form.querySelector("[data-testid=link-error]");
      var other = (input._ids || {})[input.value.trim()];
      if (!other) { err.textContent = err.dataset.choose; err.hidden = false; return false; }
      window.kontakt.api("POST", "/api/v1/clients/" + clientId + "/links", {
        other_id: other, kind: form.elements.kind.value,
        note: form.elements.note.value.trim() || null})
        .then(function () { window.location.reload(); })
        .catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    unlink: function (linkId, question) {
      return act("DELETE", "/api/v1/links/" + linkId, question);
    },
    // a city, region or district not in the list, added by whoever needs it
    addItem: function (button, code, parentField) {
      var form = button.form, box = button.closest("details");
      var name = box.querySelector("input").value.trim();
      var err = form.querySelector("[data-testid=form-error]");
      if (!name) return false;
      var body = {name: name};
      if (parentField) {
        var parent = parseInt(form.elements[parentField].value, 10);
        if (parent > 0) body.parent_id = parent;
      }
      window.kontakt.api("POST", "/api/v1/dictionaries/" + code, body).then(function (item) {
        var sel = form.elements[code + "_id"], o = document.createElement("option");
        o.value = item.id; o.textContent = item.name;
        o.setAttribute("data-parent-id", item.parent_id || "");
        sel.appendChild(o); sel.value = String(item.id);
        box.open = false; box.querySelector("input").value = ""; err.hidden = true;
      }).catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    deleteFile: function (id, question) {
      return act("DELETE", "/api/v1/documents/" + id, question);
    },
    saveClient: function (id, form) {
      var body = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name) return;
        if (el.dataset.type === "id") body[el.name] = parseInt(el.value, 10) || 0;
        else if (el.dataset.type === "bool") body[el.name] = el.checked;
        else if (el.dataset.type === "ids") body[el.name] = Array.prototype.filter.call(
          el.options, function (o) { return o.selected; }).map(function (o) {
          return parseInt(o.value, 10); });
        else body[el.name] = el.value.trim() || null;
      });
      var err = form.querySelector("[data-testid=form-error]");
      fetch("/api/v1/clients/" + id, {
        method: "PATCH", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().then(function (j) {
          err.textContent = window.kontakt.detailText(j.detail, r.status);
          err.hidden = false;  // the form keeps what was typed
        });
      });
      return false;
    },
    email: function (clientId, form, what) {
      // preview shows the message as it will go (or what is wrong); send queues it
      var body = {}, err = form.querySelector("[data-testid=email-error]"),
          out = form.querySelector("[data-testid=email-preview]");
      ["template_id", "contact_id"].forEach(function (k) {
        if (form.elements[k] && form.elements[k].value) body[k] = parseInt(form.elements[k].value, 10);
      });
      var sms = form.elements.channel && form.elements.channel.value === "sms";
      if (!body.template_id) {
        if (!sms) body.subject = form.elements.subject.value;
        body.body = form.elements.body.value;
      }
      if (!sms) {  // the client's files ticked to go with the email
        var files = Array.prototype.filter.call(
          form.querySelectorAll("input[name=attachments]"), function (el) { return el.checked; })
          .map(function (el) { return parseInt(el.value, 10); });
        if (files.length) body.attachments = files;
      }
      var url = "/api/v1/clients/" + clientId + (sms ? "/sms" : "/messages") +
        (what === "preview" ? "/preview" : "");
      err.hidden = true;
      var buttons = form.querySelectorAll("button");
      if (what !== "preview") {  // one tap sends one message
        if (form.dataset.sending) return;
        form.dataset.sending = "1";
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      }
      var release = function () {
        delete form.dataset.sending;
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      };
      fetch(url, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
        .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
        .then(function (rj) {
          var r = rj[0], j = rj[1];
          if (!r.ok) {
            release();
            err.textContent = window.kontakt.detailText(j.detail, r.status);
            err.hidden = false;  // the draft stays as typed
            return;
          }
          if (what === "preview") {
            out.textContent = sms ? (j.to ? j.to + "\n" : "") + j.text + "\n\n" +
              j.encoding + " · " + j.characters + " · SMS × " + j.parts :
              (j.to ? j.to + "\n" : "") + j.subject + "\n\n" + j.body +
              (j.attachments && j.attachments.length ? "\n\n📎 " + j.attachments.map(
                function (a) { return a.filename; }).join(", ") : "");
            out.hidden = false;
          } else if (j.waiting) {  // queued, but its channel is not set up: say so
            release();
            out.textContent = "⚠️ " + j.waiting;
            out.hidden = false;
          } else window.location.reload();
        });
    },
    channel: function (form) {
      // the subject is for email; each channel lists its own templates
      var ch = form.elements.channel.value;
      Array.prototype.forEach.call(form.querySelectorAll("[data-only]"), function (el) {
        el.hidden = el.dataset.only !== ch; });
      var sel = form.elements.template_id;
      if (sel) {
        Array.prototype.forEach.call(sel.options, function (o) {
          if (o.dataset.channel) o.hidden = o.dataset.channel !== ch; });
        sel.value = "";
      }
    },
    applyPlaybook: function (playbookId, clientId) {
      if (!playbookId) return;
      fetch("/api/v1/playbooks/" + playbookId + "/apply", {method: "POST",
        credentials: "same-origin", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({client_id: clientId})}).then(function (r) {
        if (r.ok) window.location.reload();
        else window.kontakt.tellFailure(r);
      });
    },
    narrow: function (form) {
      // S-4: a city list shows the chosen region's cities, a district list the city's
      Array.prototype.forEach.call(form.querySelectorAll("select[data-parent]"), function (sel) {
        var parent = form.elements[sel.dataset.parent].value;
        Array.prototype.forEach.call(sel.options, function (o) {
          var p = o.dataset.parentId;
          o.hidden = !!(p && parent !== "0" && p !== parent);
          if (o.hidden && o.selected) sel.value = "0";
        });
      });
    },
    upload: function (id, input) {
      if (!input.files.length) return;
      var data = new FormData();
      data.append("file", input.files[0]);
      fetch("/api/v1/clients/" + id + "/documents", {method: "POST", credentials: "same-origin",
        body: data}).then(function (r) {
        if (r.ok) window.location.reload();
        else window.kontakt.tellFailure(r);
      });
    },
    classify: function (clientId, nodeId, method) {
      if (!nodeId) return false;
      fetch("/api/v1/clients/" + clientId + "/classifier/" + nodeId, {method: method,
        credentials: "same-origin"}).then(function () { window.location.reload(); });
      return false;
    }
  };
  Object.keys(card).forEach(function (k) { window.kontakt[k] = card[k]; });  // app.js
})();

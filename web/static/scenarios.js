// M-8: scenario templates (rows of steps sent as a list) and a campaign's steps
(function () {
  window.kontakt = window.kontakt || {};
  function send(url, method, body, err) {
    return fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().then(function (j) { window.kontakt.showError(err, j); });
      });
  }
  window.kontakt.scenarios = {
    addRow: function (form) {
      var tpl = document.getElementById("sc-step-template");
      form.querySelector("[data-rows]").appendChild(tpl.content.cloneNode(true));
      return false;
    },
    removeRow: function (btn) {
      var row = btn.closest("[data-step]");
      if (row) row.remove();
      return false;
    },
    saveTemplate: function (form, url, method) {
      var err = form.querySelector(".error"), steps = [];
      Array.prototype.forEach.call(form.querySelectorAll("[data-step]"), function (row) {
        var s = {};
        Array.prototype.forEach.call(row.querySelectorAll("[data-f]"), function (el) {
          s[el.getAttribute("data-f")] = el.value;
        });
        if (!s.department_id) s.department_id = null;
        steps.push(s);
      });
      send(url, method, {name: form.elements.name.value,
        description: form.elements.description.value || null, steps: steps}, err);
      return false;
    },
    // a step one place up in the list (within a day the order is the list's)
    moveUp: function (btn, url) {
      var ids = Array.prototype.map.call(document.querySelectorAll("[data-step-id]"),
        function (el) { return Number(el.getAttribute("data-step-id")); });
      var me = Number(btn.closest("[data-step-id]").getAttribute("data-step-id"));
      var i = ids.indexOf(me);
      if (i > 0) { ids[i] = ids[i - 1]; ids[i - 1] = me; }
      send(url, "PUT", {step_ids: ids}, btn.parentNode.querySelector(".error"));
      return false;
    },
    post: function (form, url, method, question) {
      if (question && !window.confirm(question)) return false;
      var btn = form.querySelector("button[type=submit]");
      if (btn) btn.disabled = true;  // one press: the server makes each task once anyway
      send(url, method, null, form.querySelector(".error")).then(function () {
        if (btn) btn.disabled = false;
      });
      return false;
    }
  };
})();

/* S-24: a person's place in the organisation (role, department, supervisor), set from
   the profile page through PATCH /api/v1/staff/{id}; only the fields shown are sent. */
(function () {
  "use strict";
  window.kontakt.savePlace = function (userId, form) {
    var err = form.querySelector("[data-testid=place-error]");
    var ok = form.querySelector("[data-testid=place-saved]");
    var body = {};
    ["role", "department_id", "supervisor_id"].forEach(function (k) {
      var el = form.elements[k];
      if (!el) return;
      var was = el.querySelector("option[selected]");
      if (was && was.value === el.value) return;  // only what was changed is sent
      if (!was && el.selectedIndex === 0) return;
      body[k] = k === "role" ? el.value : (parseInt(el.value, 10) || 0);  // 0 clears
    });
    err.hidden = ok.hidden = true;
    window.kontakt.api("PATCH", "/api/v1/staff/" + userId, body)
      .then(function () { ok.hidden = false; })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  };
  // S-25: the staff groups a person is in (PUT the whole set)
  window.kontakt.saveGroups = function (userId, form) {
    var err = form.querySelector("[data-testid=groups-error]");
    var ok = form.querySelector("[data-testid=groups-saved]");
    var ids = [];
    Array.prototype.forEach.call(form.querySelectorAll("input[name=node_ids]:checked"),
      function (box) { ids.push(parseInt(box.value, 10)); });
    err.hidden = ok.hidden = true;
    window.kontakt.api("PUT", "/api/v1/staff/" + userId + "/groups", {node_ids: ids})
      .then(function () { ok.hidden = false; })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  };
})();
/* S-26: the sales plan grid (PUT /api/v1/plans/sales, all or nothing) and the XLSX
   upload; what was typed stays in the form when something is refused. */
(function () {
  "use strict";
  window.kontakt.savePlans = function (form) {
    var err = form.querySelector("[data-testid=plans-error]");
    var ok = form.querySelector("[data-testid=plans-saved]");
    var cells = [];
    Array.prototype.forEach.call(form.querySelectorAll("input[name=t]"), function (el) {
      if (el.value.trim() === el.defaultValue.trim()) return;  // only changed cells
      var cell = {user_id: parseInt(el.dataset.user, 10), metric: el.dataset.metric,
                  target: el.value.trim() || null, where: el.dataset.where};
      if (el.dataset.product) cell.product_id = parseInt(el.dataset.product, 10);
      if (el.dataset.category) cell.category_id = parseInt(el.dataset.category, 10);
      cells.push(cell);
    });
    err.hidden = ok.hidden = true;
    window.kontakt.api("PUT", "/api/v1/plans/sales", {month: form.dataset.month, cells: cells})
      .then(function () { ok.hidden = false; window.location.reload(); })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  };
  // the subject picker: what is typed narrows the list from the server (a phone's own
  // select then shows only the matches)
  var findTimer = null;
  window.kontakt.findSubjects = function (input) {
    var select = input.form.elements.subject;
    window.clearTimeout(findTimer);
    findTimer = window.setTimeout(function () {
      window.kontakt.api("GET", "/api/v1/plans/subjects?q=" + encodeURIComponent(input.value.trim()))
        .then(function (got) {
          select.innerHTML = "";
          got.items.forEach(function (s) {
            var o = document.createElement("option");
            o.value = s.code;
            o.textContent = (s.kind === "p" ? "📦 " : "🗂 ") + s.name;
            select.appendChild(o);
          });
        })
        .catch(function () {});
    }, 250);
  };
  window.kontakt.uploadPlans = function (input, month) {
    var err = document.querySelector("[data-testid=plans-upload-error]");
    if (!input.files.length) return;
    var data = new FormData();
    data.append("file", input.files[0]);
    err.hidden = true;
    fetch("/api/v1/plans/sales/upload?month=" + month, {method: "POST",
      credentials: "same-origin", body: data})
      .then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().catch(function () { return {}; }).then(function (j) {
          err.textContent = window.kontakt.detailText(j && j.detail, "");
          err.hidden = false; input.value = "";
        });
      })
      .catch(function () {
        err.textContent = err.dataset.offline; err.hidden = false; input.value = "";
      });
  };
})();

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
      body[k] = k === "role" ? el.value : (parseInt(el.value, 10) || 0);  // 0 clears
    });
    err.hidden = ok.hidden = true;
    window.kontakt.api("PATCH", "/api/v1/staff/" + userId, body)
      .then(function () { ok.hidden = false; })
      .catch(function (e) { err.textContent = e.message; err.hidden = false; });
    return false;
  };
})();

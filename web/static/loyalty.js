// U-9: the loyalty program's form — the tiers are rows, sent as a list
(function () {
  window.kontakt = window.kontakt || {};
  window.kontakt.loyalty = {
    addTier: function (form) {
      var tpl = document.getElementById("lp-tier-template");
      form.querySelector("[data-testid=lp-tiers]").appendChild(tpl.content.cloneNode(true));
    },
    saveProgram: function (form) {
      var err = form.querySelector("[data-testid=lp-error]");
      var expiry = form.elements.expiry_months.value.trim();
      var body = {point_value: form.elements.point_value.value,
        max_share: form.elements.max_share.value,
        expiry_months: expiry === "" ? null : expiry, tiers: []};
      Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-tier]"), function (fs) {
        var row = {}, id = fs.getAttribute("data-id");
        if (id) row.id = Number(id);
        Array.prototype.forEach.call(fs.querySelectorAll("[data-f]"), function (el) {
          row[el.getAttribute("data-f")] = el.value;
        });
        row.discount_group_id = row.discount_group_id ? Number(row.discount_group_id) : null;
        body.tiers.push(row);
      });
      fetch("/api/v1/loyalty/program", {method: "PUT", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
        .then(function (r) {
          if (r.ok) { window.location.reload(); return; }
          return r.json().then(function (j) { window.kontakt.showError(err, j); });
        });
      return false;
    }
  };
})();

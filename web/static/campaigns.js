// K-10: deleting a campaign leads back to the list; other changes reload the card
(function () {
  window.kontakt = window.kontakt || {};
  window.kontakt.campaigns = {
    remove: function (form, url, next) {
      var err = form.querySelector(".error");
      fetch(url, {method: "DELETE", credentials: "same-origin"}).then(function (r) {
        if (r.ok) { if (next) window.location.href = next; else window.location.reload(); return; }
        return r.json().then(function (j) { window.kontakt.showError(err, j); });
      });
      return false;
    }
  };
})();

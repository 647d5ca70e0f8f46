// Archiving a client from its card and restoring it (services.client_archive).
(function () {
  "use strict";
  window.kontaktArchive = {
    // the confirmation dialog's form: the optional reason; a refusal is shown in it
    archive: function (form) {
      var err = form.querySelector("[data-testid=archive-error]");
      var reason = form.elements.reason.value.trim();
      err.hidden = true;
      window.kontakt.api("POST", "/api/v1/clients/" + form.dataset.client + "/archive",
                         {reason: reason || null})
        .then(function () { window.location.reload(); })
        .catch(function (e) { err.textContent = e.message; err.hidden = false; });
      return false;
    },
    restore: function (clientId) {
      window.kontakt.api("POST", "/api/v1/clients/" + clientId + "/restore")
        .then(function () { window.location.reload(); })
        .catch(function (e) { window.kontakt.tell(e.message); });
      return false;
    }
  };
})();

"""The fake Google's accounts, OAuth 2.0 endpoints (consent, token, revoke) and service
accounts (RFC 7523 JWT grant)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets

import aiohttp
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from yarl import URL

from tests.fakes.google_common import (
    ACCESS_TOKEN_SECONDS,
    CODE_SECONDS,
    DEFAULT_SCOPE,
    JWT_BEARER,
    Json,
    _AccessToken,
    _auth_error,
    _AuthCode,
    _b64url_decode,
    _Calendar,
    _Grant,
    _zone,
)


class OAuthMixin:
    """A part of :class:`tests.fakes.google_calendar.FakeGoogle`."""

    # ------------------------------------------------------------------ accounts and tokens

    def add_account(self, email: str, timezone: str = "Europe/Moscow") -> None:
        """Create an account with its primary calendar (id == email); a repeat is a no-op."""
        if email in self._accounts:
            return
        if _zone(timezone) is None:
            raise ValueError(f"unknown time zone {timezone!r}")
        self._accounts[email] = timezone
        self._calendars[email] = _Calendar(id=email, owner=email, summary=email,
                                           time_zone=timezone, primary=True,
                                           etag=self._new_etag())

    def revoke_account(self, email: str) -> None:
        """Every grant of the account is revoked: refresh gives invalid_grant, access 401."""
        for grant in self._grants:
            if grant.email == email:
                grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far gets 401, so clients must refresh."""
        for token in self._access.values():
            token.expired = True

    def issue_tokens(self, email: str, scope: str = DEFAULT_SCOPE) -> tuple[str, str]:
        """``(access_token, refresh_token)`` of a new grant, skipping the consent screen."""
        if email not in self._accounts:
            raise KeyError(f"no account {email!r}; call add_account first")
        grant = self._new_grant(email, scope, offline=True)
        assert grant.refresh_token is not None
        return self._new_access_token(grant), grant.refresh_token

    def _new_grant(self, email: str, scope: str, *, offline: bool) -> _Grant:
        grant = _Grant(email, scope, f"1//fake-{secrets.token_urlsafe(32)}" if offline else None)
        self._grants.append(grant)
        if grant.refresh_token:
            self._refresh[grant.refresh_token] = grant
        return grant

    def _new_access_token(self, grant: _Grant) -> str:
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        self._access[token] = _AccessToken(grant, self._clock() + ACCESS_TOKEN_SECONDS + 1)
        return token

    def _authenticate(self, request: web.Request) -> str:
        """The email of the bearer of a live access token, else 401."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self._access.get(value.strip()) if scheme.lower() == "bearer" else None
        if (token is None or token.expired or token.grant.revoked
                or token.expires_at <= self._clock()):
            raise _auth_error()
        return token.grant.email

    # ------------------------------------------------------------------ OAuth endpoints

    async def _oauth_authorize(self, request: web.Request) -> web.StreamResponse:
        """The consent screen, decided at once for ``consent_account``."""
        q = request.query

        def page(message: str) -> web.Response:
            return web.Response(status=400, content_type="text/html",
                                text=f"<html><body><h1>Access blocked</h1><p>{message}</p>"
                                     "</body></html>")

        if q.get("client_id") != self.client_id:
            return page("Error 401: invalid_client. The OAuth client was not found.")
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri:
            return page("Error 400: invalid_request. Missing required parameter: redirect_uri")
        if q.get("response_type") != "code":
            return page("Error 400: unsupported_response_type")
        if not q.get("scope"):
            return page("Error 400: invalid_request. Missing required parameter: scope")
        params: dict[str, str] = {}
        email = self.consent_account
        if self.deny_consent or email is None or email not in self._accounts:
            params["error"] = "access_denied"
        else:
            code = f"4/0fake-{secrets.token_urlsafe(32)}"
            self._codes[code] = _AuthCode(email, redirect_uri, q["scope"],
                                          q.get("access_type") == "offline",
                                          self._clock() + CODE_SECONDS)
            params.update(code=code, scope=q["scope"])
        if "state" in q:
            params["state"] = q["state"]
        raise web.HTTPFound(str(URL(redirect_uri).update_query(params)))

    def fail_token(self, kind: str, times: int = 1, *, delay_s: float = 3.0) -> None:
        """The next ``times`` requests to the token endpoint fail: ``invalid_client`` (a
        rotated secret: 401 JSON), ``server_error`` (503 JSON), ``html`` (a 502 HTML page
        from a proxy), ``timeout`` (no answer for ``delay_s``), ``invalid_grant``. RFC 6749
        5.2 names the JSON errors; Google's "Using OAuth 2.0 to Access Google APIs" says a
        refresh token may stop working (invalid_grant) for several reasons."""
        if kind not in ("invalid_client", "server_error", "html", "timeout", "invalid_grant"):
            raise ValueError(f"unknown token fault {kind!r}")
        self._token_faults.append([kind, times, delay_s])

    async def _token_fault(self) -> web.Response | None:
        fault = next((f for f in self._token_faults if f[1] > 0), None)
        if fault is None:
            return None
        fault[1] -= 1
        kind, _, delay_s = fault
        if kind == "timeout":
            await asyncio.sleep(delay_s)
            return web.json_response({"error": "deadline_exceeded"}, status=504)
        if kind == "html":
            return web.Response(status=502, content_type="text/html",
                                text="<html><head><title>502 Bad Gateway</title></head>"
                                     "<body><h1>Bad Gateway</h1></body></html>")
        if kind == "server_error":
            return web.json_response({"error": "server_error",
                                      "error_description": "Backend Error"}, status=503)
        status = 401 if kind == "invalid_client" else 400
        return web.json_response({"error": kind, "error_description": "Unauthorized"
                                  if kind == "invalid_client" else "Token has been expired "
                                  "or revoked."}, status=status)

    async def _oauth_token(self, request: web.Request) -> web.Response:
        """The token endpoint: authorization_code and refresh_token grants."""
        if (faulty := await self._token_fault()) is not None:
            return faulty
        if request.content_type == "application/json":
            form = {k: str(v) for k, v in (await request.json()).items()}
        else:
            form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("grant_type") == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("Authorization", "").startswith("Basic "):
            with contextlib.suppress(ValueError):
                auth = aiohttp.BasicAuth.decode(request.headers["Authorization"])
                client_id, client_secret = auth.login, auth.password
        if client_id != self.client_id:
            return web.json_response({"error": "invalid_client",
                                      "error_description": "The OAuth client was not found."},
                                     status=401)
        if client_secret != self.client_secret:
            return web.json_response({"error": "invalid_client",
                                      "error_description": "Unauthorized"}, status=401)
        invalid_grant = web.json_response(
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
            status=400)
        grant_type = form.get("grant_type")
        body: Json = {"expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"}
        if grant_type == "authorization_code":
            code = self._codes.get(form.get("code", ""))
            if code is None or code.expires_at <= self._clock():
                return invalid_grant
            if form.get("redirect_uri") != code.redirect_uri:
                return web.json_response({"error": "redirect_uri_mismatch",
                                          "error_description": "Bad Request"}, status=400)
            del self._codes[form["code"]]  # single use
            grant = self._new_grant(code.email, code.scope, offline=code.offline)
            body["access_token"] = self._new_access_token(grant)
            if grant.refresh_token:
                body["refresh_token"] = grant.refresh_token
        elif grant_type == "refresh_token":
            grant_or_none = self._refresh.get(form.get("refresh_token", ""))
            if grant_or_none is None or grant_or_none.revoked:
                return invalid_grant
            grant = grant_or_none
            body["access_token"] = self._new_access_token(grant)
        else:
            return web.json_response({"error": "unsupported_grant_type",
                                      "error_description": f"Invalid grant_type: {grant_type}"},
                                     status=400)
        body["scope"] = grant.scope
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def add_service_account(self, client_email: str, public_key_pem: bytes,
                            domains: list[str]) -> None:
        """A Google Workspace service account allowed domain-wide delegation for the
        accounts of ``domains`` (its JWTs are checked against ``public_key_pem``)."""
        self._service_accounts[client_email] = (
            serialization.load_pem_public_key(public_key_pem), list(domains))

    def _jwt_grant(self, assertion: str) -> web.Response:
        """RFC 7523 (how a service account gets a token): an RS256-signed JWT whose
        ``iss`` is a known service account, ``aud`` this endpoint, ``sub`` an account of
        a delegated domain, not expired."""
        refused = web.json_response({"error": "invalid_grant",
                                     "error_description": "Invalid JWT Signature."},
                                    status=400)
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(body_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, TypeError):
            return refused
        known = self._service_accounts.get(str(claims.get("iss")))
        if header.get("alg") != "RS256" or known is None:
            return refused
        public_key, domains = known
        try:
            public_key.verify(signature, f"{head_b64}.{body_b64}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refused
        now = self._clock()
        # the audience is Google's token endpoint's address (google-auth always names it),
        # or this server's
        audiences = (self.token_uri, "https://oauth2.googleapis.com/token")
        if claims.get("aud") not in audiences or not (
                claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "Invalid JWT: Token must be a "
                                      "short-lived token and in a reasonable timeframe."},
                                     status=400)
        subject = str(claims.get("sub") or "")
        if subject not in self._accounts or subject.rsplit("@", 1)[-1] not in domains:
            return web.json_response({"error": "unauthorized_client",
                                      "error_description": "Client is unauthorized to "
                                      "retrieve access tokens using this method, or client "
                                      "not authorized for any of the scopes requested."},
                                     status=401)
        grant = self._new_grant(subject, str(claims.get("scope") or DEFAULT_SCOPE),
                                offline=False)
        return web.json_response({"access_token": self._new_access_token(grant),
                                  "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"},
                                 headers={"Cache-Control": "no-store"})

    async def _oauth_revoke(self, request: web.Request) -> web.Response:
        """Revoke the grant of a refresh or access token (``token`` in query or form)."""
        token = request.query.get("token") or str((await request.post()).get("token", ""))
        grant = self._refresh.get(token)
        if grant is None and token in self._access:
            grant = self._access[token].grant
        if grant is None or grant.revoked:
            return web.json_response({"error": "invalid_token",
                                      "error_description": "Token expired or revoked"},
                                     status=400)
        grant.revoked = True
        return web.json_response({})


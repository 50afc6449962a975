"""Who may read `complaintflow serve`: with a token configured, a request carries it as a
bearer token (scripts, Prometheus) or holds the session cookie a browser got by giving the
token once at /login. The cookie is HttpOnly and SameSite=Strict, Secure unless on loopback,
and holds a value derived from the token, never the token itself."""

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from html import escape
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import Cookie, FastAPI, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

SESSION_COOKIE = "complaintflow_session"
# what a page may load: nothing from another host, no script at all
PAGE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
    "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}
MAX_LOGIN_BYTES = 4096


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def session_value(token: str) -> str:
    """What the session cookie holds: derived from the token, so the cookie never carries
    the token itself, and changing the token ends every session."""
    return hmac.new(token.encode(), b"complaintflow serve session", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class TokenGuard:
    """With a token configured, every route but /healthz requires it (a FastAPI dependency)."""

    token: str | None

    def allows(self, authorization: str | None, session: str | None = None) -> bool:
        if self.token is None or bearer_matches(authorization, self.token):
            return True
        return session is not None and hmac.compare_digest(
            session.encode(), session_value(self.token).encode()
        )

    async def __call__(
        self,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    ) -> None:
        """A browser without a session is sent to /login and back; anything else gets 401."""
        if self.allows(authorization, session):
            return
        if wants_html(request):
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = f"/login?next={quote(here)}"
            raise HTTPException(303, "sign in first", headers={"Location": login})
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def wants_html(request: Request) -> bool:
    """A browser asking for a page (its Accept lists text/html), not a script for JSON."""
    return "text/html" in request.headers.get("accept", "")


_LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>complaintflow: sign in</title><style>body{{font:16px system-ui,sans-serif;margin:4em auto;
max-width:24em}}input{{font:inherit;width:100%;margin:.4em 0;padding:.3em}}
.error{{color:#b00020}}</style></head><body><h1>complaintflow</h1>{message}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>Token <input type="password" name="token" autofocus></label>
<input type="submit" value="Sign in"></form></body></html>"""


def _loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return host is not None
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _safe_next(target: str) -> str:
    """Only a path on this service: never another host (an open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _login_page(next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    shown = f'<p class="error">{escape(message)}</p>' if message else ""
    page = _LOGIN_PAGE.format(message=shown, next=escape(_safe_next(next_path)))
    return HTMLResponse(page, status_code=status, headers=PAGE_POLICY)


def add_login(app: FastAPI, guard: TokenGuard) -> None:
    """GET /login shows the form; POST /login with the right token sets the session cookie
    and goes on to `next`. A form, not a query parameter: a token in a URL would be in the
    access log and the browser's history."""

    @app.get("/login", include_in_schema=False)
    async def login_form(next: str = "/") -> HTMLResponse:
        return _login_page(next)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > MAX_LOGIN_BYTES:
            return _login_page("/", "that is not a token", 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGIN_BYTES:
                return _login_page("/", "that is not a token", 413)
        form = parse_qs(body.decode("utf-8", "replace"))
        given, next_path = form.get("token", [""])[0], form.get("next", ["/"])[0]
        if guard.token is None:
            return RedirectResponse(_safe_next(next_path), status_code=303)
        if not hmac.compare_digest(given.encode(), guard.token.encode()):
            return _login_page(next_path, "wrong token", 401)
        response = RedirectResponse(_safe_next(next_path), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_value(guard.token),
            httponly=True,
            # Strict, as the console asks: a link from another site (mail, chat) to a page
            # arrives without the session and goes through /login once
            samesite="strict",
            # over plain HTTP only on this machine (a proxy that ends TLS may not say https)
            secure=request.url.scheme == "https" or not _loopback(request.url.hostname),
        )
        return response

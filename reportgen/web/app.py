"""The ``reportgen serve`` application: a read-only Flask app over the store.

Every response is read-only: only GET and HEAD are answered, but for the verify upload (POST),
which writes nothing but a temporary copy of the upload.  Templates are Jinja2 with autoescaping
(the statement's macros shared), and a Content-Security-Policy allows only the app's own
stylesheet, script and font.  Off loopback, each request must carry the token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from flask import Flask, Response, abort, redirect, request

from ..config import Config
from ..errors import ReportgenError
from ..exporters.html import FALLBACK_FAMILIES, asset, font_subset
from ..templating import wording
from .access import TOKEN_COOKIE, token_ok
from .pages import chrome, register_pages

__all__ = ["create_app"]

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; font-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SERVE_CSS = """
nav.top { display: flex; gap: 4mm; border-bottom: 1px solid var(--rule); padding: 2mm 0; margin-bottom: 4mm; }
nav.top a { font-weight: bold; }
.crumbs { color: var(--muted); font-size: 9pt; }
.ok { color: #17622b; border: 1px solid #17622b; padding: 2mm; }
.differs { color: var(--red); border: 1px solid var(--red); padding: 2mm; }
.untrusted { color: #8a5a00; border: 1px solid #8a5a00; padding: 2mm; }
.verdict p { margin: 0.5mm 0; white-space: pre-wrap; }
.pager { display: flex; gap: 4mm; margin: 2mm 0; }
body { max-width: 260mm; }
button, input { font: inherit; }
table.list thead th { text-align: left; }
table.rows th, table.rows td { width: auto; white-space: nowrap; max-width: none; }
table.rows td:last-child { white-space: normal; overflow-wrap: anywhere; }
table.rows th:nth-child(2), table.rows th:nth-child(3) { text-align: left; }
tr.incomplete td { background: #fff4e5; }
"""


def _font_characters(config: Config) -> str:
    """Every character of the wording (both languages) and of the configured names: the pages'
    text.  A name from the gateway outside these uses the reader's fonts (the font stack)."""
    parts = [*wording("zh").group("").values(), *wording("en").group("").values()]
    for member, keys in config.members.items():
        parts += [member, *keys]
    parts += [f"{p.name} {p.title}" for p in config.projects]
    return "".join(sorted({ch for ch in "".join(parts) if ord(ch) > 0x7E}))


def _stylesheet() -> str:
    face = '@font-face { font-family: "reportgen CJK"; src: url("/static/font.woff") format("woff"); }\n'
    return f"{face}:root {{ --fallback-fonts: {FALLBACK_FAMILIES}; }}\n{asset('statement.css')}{SERVE_CSS}"


def create_app(config: Config, *, token: str | None = None, documents: Path | None = None) -> Flask:
    """The app over ``config``'s store; ``token`` is required of every request when given (off
    loopback); ``documents`` is where issued packets are looked for (downloads)."""
    app = Flask("reportgen.web", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 80 * 1024 * 1024
    app.jinja_loader = jinja2.ChoiceLoader(
        [
            jinja2.PackageLoader("reportgen.web", "templates"),
            jinja2.PackageLoader("reportgen.exporters.html", "templates"),
        ]
    )
    app.jinja_env.autoescape = True
    app.jinja_env.undefined = jinja2.StrictUndefined
    css = _stylesheet()
    characters = _font_characters(config)
    script = asset("statement.js")

    @app.before_request
    def guard() -> Any:
        if request.method not in ("GET", "HEAD") and request.endpoint != "verify":
            abort(405)
        given = request.cookies.get(TOKEN_COOKIE) or _bearer(request.headers.get("Authorization", ""))
        if token_ok(token, given):
            return None
        if token is not None and token_ok(token, request.args.get("token")):
            response = redirect(request.path)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        abort(401)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/static/app.css")
    def stylesheet() -> Response:
        return Response(css, mimetype="text/css")

    @app.get("/static/app.js")
    def javascript() -> Response:
        return Response(script, mimetype="text/javascript")

    @app.get("/static/font.woff")
    def font() -> Response:
        data = font_subset(characters) if characters else None
        if data is None:
            abort(404)
        return Response(data, mimetype="font/woff")

    @app.errorhandler(ReportgenError)
    def refused(exc: ReportgenError) -> tuple[str, int]:
        from flask import render_template

        return render_template("error.html", message=str(exc), **chrome(config)), 400

    register_pages(app, config, documents or Path("reports"))
    return app


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None

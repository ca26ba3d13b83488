"""URL rules of the OAuth2 authorization server."""

from flask import Blueprint

from backend.auth import views

bp = Blueprint("auth", __name__)
bp.add_url_rule("/oauth/token", view_func=views.issue_token, methods=["POST"])
bp.add_url_rule("/oauth/revoke", view_func=views.revoke_token, methods=["POST"])

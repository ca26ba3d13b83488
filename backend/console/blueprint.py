"""Blueprints of the console area: the pages (plain Flask, server-rendered) and the session API (flask-smorest).

Routes are declared on them in views.py.
"""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static", static_url_path="/static")

blp = ApiBlueprint(
    "console_sessions",
    __name__,
    url_prefix="/api/v1",
    description="One-time links into the merchant console, for shop plugins and merchants without a shop",
)

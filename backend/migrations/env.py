"""Alembic environment, driven by Flask-Migrate (`claimbridge db upgrade`)."""

import logging

import sqlalchemy as sa
from alembic import context
from flask import current_app

logger = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db


def _render_item(type_, obj, autogen_context):
    """Render the project's column types by their import path so new migrations are portable."""
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("import backend.types")
        return "backend.types.JSONType"
    module = type(obj).__module__
    if type_ == "type" and module.startswith("backend."):
        autogen_context.imports.add("import backend.types")
        return f"backend.types.{type(obj).__name__}()"
    return False


def _skip_empty(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online() -> None:
    """Run migrations on the app's engine."""
    configure_args = dict(current_app.extensions["migrate"].configure_args)
    configure_args.setdefault("process_revision_directives", _skip_empty)
    with target_db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            render_item=_render_item,
            **configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `claimbridge db upgrade` against a database")
run_migrations_online()

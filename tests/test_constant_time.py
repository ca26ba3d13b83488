"""Secrets, signatures and MACs are compared in constant time (``hmac.compare_digest``), never with ``==``.

An ``==`` on a signature returns as soon as a byte differs, so its timing tells an attacker how much of a forged
signature is right. This test reads the code (``backend/`` and ``connectors/``) and fails on any ``==``/``!=``
with an operand named like a secret, signature, digest, MAC, proof or hash, except where SQL compares a column
(``Model.token_hash == …`` builds a query; the database looks up a hash of a random secret) or a setting is
checked against a named placeholder constant. It also checks that every verifier uses ``compare_digest``.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SENSITIVE = re.compile(r"signature|digest|secret|(^|_)mac($|_)|hmac|proof|(^|_)hash($|_)", re.IGNORECASE)
# Functions that decide whether a presented secret or signature is genuine.
VERIFIERS = {
    "backend/crypto.py": "secret_matches",
    "backend/shopware/signing.py": "signature_matches",
    "connectors/shops/woocommerce.py": "verify_webhook_signature",
    "backend/console/sessions.py": "redeem_console_link",
}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _is_sql_column(node: ast.AST) -> bool:
    # Model.column (a class attribute of a mapped class, by its capitalised name) or sa.bindparam(...)
    return (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper()
    ) or _name(node) == "bindparam"


def _is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id.isupper())


def plain_comparisons(source: str) -> list[int]:
    """Return the lines where a secret-looking value is compared with ``==`` or ``!=``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare) or not all(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_sql_column(operand) or _is_constant(operand) for operand in operands):
            continue
        if any(SENSITIVE.search(_name(operand)) for operand in operands):
            found.append(node.lineno)
    return found


def _sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "backend", "connectors"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if name.endswith(".py") and (ROOT / name).exists()]


def test_no_secret_signature_or_mac_is_compared_with_equals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        for line in plain_comparisons(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "snippet",
    [
        "ok = signature == expected",
        "if hmac.new(key, body, sha256).hexdigest() != given: raise X",
        "if stored.token_hash == hash_secret(token): pass",
        "valid = proof == self.expected_proof()",
    ],
)
def test_the_scan_finds_a_planted_comparison(snippet: str) -> None:
    assert plain_comparisons(snippet) == [1]


@pytest.mark.parametrize(
    "snippet",
    [
        "query = select(ApiClient).where(ApiClient.secret_hash == digest)",
        "problem = app_secret == PLACEHOLDER_SECRET",
        "equal = hmac.compare_digest(signature, expected)",
    ],
)
def test_the_scan_leaves_sql_placeholders_and_compare_digest_alone(snippet: str) -> None:
    assert plain_comparisons(snippet) == []


@pytest.mark.parametrize(("path", "function"), sorted(VERIFIERS.items()))
def test_every_verifier_compares_with_compare_digest(path: str, function: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    (verifier,) = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    calls = {
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(verifier)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    }
    assert "hmac.compare_digest" in calls

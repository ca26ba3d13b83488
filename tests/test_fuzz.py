"""Schemathesis against /openapi.json: every operation, generated valid and invalid requests, a token holding
every scope. No request may produce a 5xx, and every response must match the document.

Examples per operation are bounded (``CLAIMBRIDGE_FUZZ_EXAMPLES``, default 12: a few minutes in CI); raise it
for a deeper run, e.g. ``CLAIMBRIDGE_FUZZ_EXAMPLES=200 pytest tests/test_fuzz.py -s``. The operations come
from the document, so an endpoint added later is fuzzed without touching this file.
"""

from __future__ import annotations

import os
import traceback
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup

from backend.merchants.models import SCOPES

EXAMPLES = int(os.environ.get("CLAIMBRIDGE_FUZZ_EXAMPLES", "12"))


def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(app, merchant, auth_headers):
    headers = auth_headers(merchant, " ".join(SCOPES))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    totals: Counter[str] = Counter()
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,  # the same requests on every run, so CI is repeatable
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: schemathesis.Case) -> None:
                try:
                    response = case.call(headers=headers)
                except Exception as error:  # the test app re-raises what would have been a 500
                    totals["5xx"] += 1
                    where = traceback.extract_tb(error.__traceback__)[-1]
                    failures.append(
                        f"{case.method} {case.formatted_path}: {type(error).__name__}: {error} "
                        f"at {where.filename}:{where.lineno}\n{case.as_curl_command()}"
                    )
                    return
                totals["requests"] += 1
                totals[f"{response.status_code // 100}xx"] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, FailureGroup) as error:
                    totals["schema failures"] += 1
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {error}")

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing invalid to send (no parameters, no body)
        totals["operations"] += 1

    print(f"schemathesis totals: {dict(totals)}")  # shown with -s; the report quotes it
    assert totals["operations"] > 40 and totals["requests"] > 40 * EXAMPLES
    assert failures == [], "\n".join(failures[:20])

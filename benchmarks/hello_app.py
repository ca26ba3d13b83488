"""The baseline for benchmarks/risk_check_http.py: a hello-world Flask endpoint served the same way."""

from flask import Flask

app = Flask(__name__)


@app.post("/hello")
def hello() -> dict[str, str]:
    """Answer a constant JSON body, the least any Flask endpoint can do."""
    return {"hello": "world"}

"""The cases tests build their cases through the handover flow, with its base-rate fixture."""

from tests.handovers.conftest import _current_base_rate  # noqa: F401

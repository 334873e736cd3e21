"""A property-based run against the real receiver: no input makes it answer 5xx or fall over."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import RunningServer
from tests.server.test_receiver import batch, event

EXPECTED = {200, 400, 401, 403, 413, 415, 429}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(event(0))) | st.text(min_size=1, max_size=12)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A valid batch with a few fields replaced or added, or arbitrary JSON, or raw bytes."""
    shape = draw(st.sampled_from(["mutated", "json", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    if shape == "json":
        return json.dumps(draw(json_values)).encode()
    document = orjson.loads(batch([event(n) for n in range(draw(st.integers(1, 3)))]))
    events: list[dict[str, Any]] = document["events"]
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(events))
        target[draw(field_names)] = draw(json_values)
    if draw(st.booleans()):
        document[draw(st.sampled_from(["schema", "batch_id", "source", "sent_at", "x"]))] = draw(
            json_values
        )
    return json.dumps(document).encode()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies(),
    encoding=st.sampled_from(["gzip", "identity", None, "deflate", "gzip, br"]),
    auth=st.sampled_from(["valid", "missing", "wrong", "malformed"]),
)
def test_no_input_makes_the_receiver_fail(
    server: RunningServer, body: bytes, encoding: str | None, auth: str
) -> None:
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if auth == "valid":
        headers["Authorization"] = f"Bearer {server.token('fuzz')}"
    elif auth == "wrong":
        headers["Authorization"] = "Bearer att_nope"
    elif auth == "malformed":
        headers["Authorization"] = "Basic Zm9vOmJhcg=="
    content = body
    if encoding is not None:
        headers["Content-Encoding"] = encoding
        if encoding == "gzip":
            content = gzip.compress(body)
    response = httpx.post(server.url, content=content, headers=headers, timeout=30)
    assert response.status_code in EXPECTED, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert server.process is not None and server.process.poll() is None

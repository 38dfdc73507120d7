"""Schemathesis hooks of the end-to-end run (tests/tests/schemathesis.rs).

Generated heartbeat bodies name random service ids, and generated sign-in forms random
tokens, so without help every one is refused and the accepting paths go untested. About half
of them (those whose generated id or token has an even length, so a seed gives the same
requests every run) get a configured service id and its key, or a user's login token,
from the environment the test sets: SYSTOLE_ST_SERVICE, SYSTOLE_ST_KEY, SYSTOLE_ST_TOKEN.
"""

import os

import schemathesis

SERVICE = os.environ["SYSTOLE_ST_SERVICE"]
KEY = os.environ["SYSTOLE_ST_KEY"]
TOKEN = os.environ["SYSTOLE_ST_TOKEN"]
HEARTBEAT_PATHS = ("/api/heartbeat", "/api/v1/heartbeat")


def _chosen(value):
    return isinstance(value, str) and len(value) % 2 == 0


def _known(entry):
    """The heartbeat entry (single form or batch item) with a configured id and its key."""
    if _chosen(entry):
        return SERVICE
    if isinstance(entry, dict) and _chosen(entry.get("serviceId")):
        entry = dict(entry, serviceId=SERVICE)
        if isinstance(entry.get("token"), str):
            entry["token"] = KEY
    return entry


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path = case.operation.path
    body = case.body
    if path in HEARTBEAT_PATHS:
        if isinstance(body, list):
            case.body = [_known(e) for e in body]
        elif isinstance(body, dict) and isinstance(body.get("services"), list):
            case.body = dict(body, services=[_known(e) for e in body["services"]])
        elif isinstance(body, dict):
            case.body = _known(body)
    elif path == "/login" and case.method.upper() == "POST" and isinstance(body, dict) and _chosen(body.get("token")):
        case.body = dict(body, token=TOKEN)

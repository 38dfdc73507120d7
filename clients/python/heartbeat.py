#!/usr/bin/env python3
"""Systole heartbeat sender: Python 3.8+ standard library only.

    SYSTOLE_URL=https://systole.example.workers.dev \\
    SYSTOLE_SERVICE=api-prod SYSTOLE_KEY=hb_... ./heartbeat.py

Environment:
  SYSTOLE_URL      required  base URL of the worker, without /api
  SYSTOLE_SERVICE  required  service id
  SYSTOLE_KEY      optional  heartbeat key; empty/unset sends no Authorization header
  SYSTOLE_STATUS   optional  up | degraded | down (default up)
  SYSTOLE_MESSAGE  optional  free text, at most 1 KiB (the server rejects longer)
  SYSTOLE_TIMEOUT  optional  seconds for the whole request (default 10)

Exit status: 0 recorded, 1 delivery failed (HTTP error, network error,
timeout, unexpected response), 2 configuration error. One attempt, no
retries: the next scheduled run is the retry. Success prints one line to
stdout; failures print the server's error to stderr.

HTTPS_PROXY / NO_PROXY are honoured; redirects are not followed.

Can also be imported: send_heartbeat(url, service, key=None, status="up",
message=None, timeout=10.0) returns the server's receipt dict or raises
HeartbeatError.
"""

import json
import os
import re
import sys
import threading
import urllib.error
import urllib.request

PROG = "systole-heartbeat"
STATUSES = ("up", "degraded", "down")
USER_AGENT = "systole-heartbeat.py/1"
MAX_BODY_BYTES = 64 * 1024


class ConfigError(Exception):
    """Invalid configuration; nothing was sent (exit status 2)."""


class HeartbeatError(Exception):
    """The heartbeat was not recorded (exit status 1)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET and forward the
    # Authorization header to the new host; refuse instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _problem_text(code, body):
    """'HTTP 401 Unauthorized: detail (field: x)' from a problem+json body, else the raw body."""
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    if isinstance(problem, dict) and (problem.get("title") or problem.get("detail")):
        text = "HTTP %d" % code
        if problem.get("title"):
            text += " %s" % problem["title"]
        if problem.get("detail"):
            text += ": %s" % problem["detail"]
        if problem.get("field"):
            text += " (field: %s)" % problem["field"]
        return text
    raw = " ".join(body.split())[:1000]
    return "HTTP %d: %s" % (code, raw) if raw else "HTTP %d" % code


def _post(endpoint, payload, headers, timeout):
    request = urllib.request.Request(endpoint, data=payload, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(MAX_BODY_BYTES).decode("utf-8", "replace"), None
    except urllib.error.HTTPError as err:  # non-2xx (and refused redirects)
        body = err.read(MAX_BODY_BYTES).decode("utf-8", "replace") if err.fp else ""
        return err.code, body, err.headers.get("Location") if err.headers else None


def send_heartbeat(url, service, key=None, status="up", message=None, timeout=10.0):
    """POST one heartbeat to {url}/api/heartbeat.

    timeout is in seconds and bounds the whole request (DNS, connect, TLS,
    response body). Returns the receipt dict
    {"ok": true, "serviceId": ..., "status": ..., "receivedAt": ...}.
    Raises ConfigError for bad arguments and HeartbeatError when the
    heartbeat was not recorded.
    """
    url = (url or "").strip().rstrip("/")
    service = (service or "").strip()
    key = (key or "").strip()
    status = (status or "up").strip().lower()
    if not url:
        raise ConfigError("SYSTOLE_URL is not set")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError("SYSTOLE_URL must look like https://host[:port], got %r" % url)
    if not service:
        raise ConfigError("SYSTOLE_SERVICE is not set")
    if status not in STATUSES:
        raise ConfigError("SYSTOLE_STATUS must be up, degraded or down, got %r" % status)
    if key and not re.fullmatch(r"[!-~]+", key):
        raise ConfigError("SYSTOLE_KEY must contain only visible ASCII characters")
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 86400):
        raise ConfigError("timeout must be a positive number of seconds, got %r" % (timeout,))

    body = {"serviceId": service, "status": status}
    if message:
        body["message"] = message
    payload = json.dumps(body).encode("ascii")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, application/problem+json",
        "User-Agent": USER_AGENT,
    }
    if key:
        headers["Authorization"] = "Bearer " + key
    endpoint = url + "/api/heartbeat"

    # urllib's timeout is per socket operation and does not cover DNS, so run
    # the request in a daemon thread and wait at most `timeout` seconds for it.
    outcome = {}

    def worker():
        try:
            outcome["result"] = _post(endpoint, payload, headers, timeout)
        except BaseException as err:  # noqa: BLE001 - re-raised below
            outcome["error"] = err

    thread = threading.Thread(target=worker, name="systole-heartbeat", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise HeartbeatError("no response from %s within %gs (timeout)" % (endpoint, timeout))
    if "error" in outcome:
        err = outcome["error"]
        reason = getattr(err, "reason", None) or err
        raise HeartbeatError("no response from %s: %s" % (endpoint, reason))

    code, text, location = outcome["result"]
    if 300 <= code < 400:
        raise HeartbeatError(
            "HTTP %d redirect to %s not followed; check SYSTOLE_URL (scheme, host, no /api suffix)"
            % (code, location or "?")
        )
    if not 200 <= code < 300:
        raise HeartbeatError("heartbeat for %s failed: %s" % (service, _problem_text(code, text)))
    try:
        receipt = json.loads(text)
    except ValueError:
        receipt = None
    if not isinstance(receipt, dict) or receipt.get("ok") is not True:
        raise HeartbeatError(
            "unexpected HTTP %d response from %s (not a Systole receipt): %s"
            % (code, endpoint, " ".join(text.split())[:500])
        )
    return receipt


def main(argv):
    if len(argv) > 1:
        if argv[1] in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        print("%s: unexpected argument %r (configure with SYSTOLE_* environment variables; see --help)"
              % (PROG, argv[1]), file=sys.stderr)
        return 2
    env = os.environ.get
    try:
        timeout_text = (env("SYSTOLE_TIMEOUT") or "10").strip()
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise ConfigError(
                "SYSTOLE_TIMEOUT must be a positive number of seconds, got %r" % timeout_text
            ) from None
        receipt = send_heartbeat(
            env("SYSTOLE_URL"),
            env("SYSTOLE_SERVICE"),
            key=env("SYSTOLE_KEY"),
            status=env("SYSTOLE_STATUS") or "up",
            message=env("SYSTOLE_MESSAGE") or None,
            timeout=timeout,
        )
    except ConfigError as err:
        print("%s: %s" % (PROG, err), file=sys.stderr)
        return 2
    except HeartbeatError as err:
        print("%s: %s" % (PROG, err), file=sys.stderr)
        return 1
    print("%s: heartbeat recorded: service=%s status=%s receivedAt=%s" % (
        PROG, receipt.get("serviceId"), receipt.get("status"), receipt.get("receivedAt", "?")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

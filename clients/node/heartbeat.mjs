#!/usr/bin/env node
// Systole heartbeat sender: Node.js 18+ (global fetch), no dependencies.
//
//   SYSTOLE_URL=https://systole.example.workers.dev \
//   SYSTOLE_SERVICE=api-prod SYSTOLE_KEY=hb_... node heartbeat.mjs
//
// Environment:
//   SYSTOLE_URL      required  base URL of the worker, without /api
//   SYSTOLE_SERVICE  required  service id
//   SYSTOLE_KEY      optional  heartbeat key; empty/unset sends no Authorization header
//   SYSTOLE_STATUS   optional  up | degraded | down (default up)
//   SYSTOLE_MESSAGE  optional  free text, at most 1 KiB (the server rejects longer)
//   SYSTOLE_TIMEOUT  optional  seconds for the whole request (default 10)
//
// Exit status: 0 recorded, 1 delivery failed (HTTP error, network error,
// timeout, unexpected response), 2 configuration error. One attempt, no
// retries: the next scheduled run is the retry. Success prints one line to
// stdout; failures print the server's error to stderr.
//
// Redirects are not followed. Node's fetch ignores HTTPS_PROXY.
//
// Can also be imported: `await sendHeartbeat({ url, service, key, status,
// message, timeoutSeconds })` resolves to the receipt object or rejects with
// ConfigError / HeartbeatError.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

const PROG = "systole-heartbeat";
const STATUSES = ["up", "degraded", "down"];

/** Invalid configuration; nothing was sent (exit status 2). */
export class ConfigError extends Error {}

/** The heartbeat was not recorded (exit status 1). */
export class HeartbeatError extends Error {}

const oneLine = (text, max) => text.split(/\s+/).filter(Boolean).join(" ").slice(0, max);

function problemText(code, body) {
  let problem = null;
  try {
    problem = JSON.parse(body);
  } catch {
    // not JSON: fall through to the raw body
  }
  if (problem && typeof problem === "object" && (problem.title || problem.detail)) {
    let text = `HTTP ${code}`;
    if (problem.title) text += ` ${problem.title}`;
    if (problem.detail) text += `: ${problem.detail}`;
    if (problem.field) text += ` (field: ${problem.field})`;
    return text;
  }
  const raw = oneLine(body, 1000);
  return raw ? `HTTP ${code}: ${raw}` : `HTTP ${code}`;
}

/**
 * POST one heartbeat to `${url}/api/heartbeat`.
 * `timeoutSeconds` bounds the whole request, body included.
 * Resolves to the receipt `{ ok: true, serviceId, status, receivedAt }`.
 */
export async function sendHeartbeat({ url, service, key, status = "up", message, timeoutSeconds = 10 }) {
  url = (url ?? "").trim().replace(/\/+$/, "");
  service = (service ?? "").trim();
  key = (key ?? "").trim();
  status = (status || "up").trim().toLowerCase();
  if (!url) throw new ConfigError("SYSTOLE_URL is not set");
  if (!/^https?:\/\/[^/\s]+/.test(url)) {
    throw new ConfigError(`SYSTOLE_URL must look like https://host[:port], got '${url}'`);
  }
  if (!service) throw new ConfigError("SYSTOLE_SERVICE is not set");
  if (!STATUSES.includes(status)) {
    throw new ConfigError(`SYSTOLE_STATUS must be up, degraded or down, got '${status}'`);
  }
  if (key && !/^[!-~]+$/.test(key)) {
    throw new ConfigError("SYSTOLE_KEY must contain only visible ASCII characters");
  }
  if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 && timeoutSeconds <= 86400)) {
    throw new ConfigError(`SYSTOLE_TIMEOUT must be a positive number of seconds, got '${timeoutSeconds}'`);
  }

  const body = { serviceId: service, status };
  if (message) body.message = message;
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/json, application/problem+json",
    "User-Agent": "systole-heartbeat.mjs/1",
  };
  if (key) headers.Authorization = `Bearer ${key}`;
  const endpoint = `${url}/api/heartbeat`;

  // One signal for the whole exchange: it also aborts reading the body.
  const signal = AbortSignal.timeout(Math.ceil(timeoutSeconds * 1000));
  let code;
  let text;
  let location;
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      redirect: "manual",
      signal,
    });
    code = response.status;
    location = response.headers.get("location");
    text = await response.text();
  } catch (err) {
    if (err?.name === "TimeoutError" || err?.name === "AbortError") {
      throw new HeartbeatError(`no response from ${endpoint} within ${timeoutSeconds}s (timeout)`);
    }
    // fetch hides the useful part (ECONNREFUSED, ENOTFOUND, TLS...) in `cause`.
    const cause = err?.cause?.message ?? err?.cause?.code ?? err?.message ?? String(err);
    throw new HeartbeatError(`no response from ${endpoint}: ${cause}`);
  }

  if (code >= 300 && code < 400) {
    throw new HeartbeatError(
      `HTTP ${code} redirect to ${location ?? "?"} not followed; check SYSTOLE_URL (scheme, host, no /api suffix)`,
    );
  }
  if (code < 200 || code >= 300) {
    throw new HeartbeatError(`heartbeat for ${service} failed: ${problemText(code, text)}`);
  }
  let receipt = null;
  try {
    receipt = JSON.parse(text);
  } catch {
    // handled below
  }
  if (!receipt || receipt.ok !== true) {
    throw new HeartbeatError(
      `unexpected HTTP ${code} response from ${endpoint} (not a Systole receipt): ${oneLine(text, 500)}`,
    );
  }
  return receipt;
}

async function main(argv) {
  if (argv.length > 0) {
    if (argv[0] === "-h" || argv[0] === "--help") {
      console.log("usage: SYSTOLE_URL=... SYSTOLE_SERVICE=... [SYSTOLE_KEY=...] node heartbeat.mjs (see the header of this file)");
      return 0;
    }
    console.error(`${PROG}: unexpected argument '${argv[0]}' (configure with SYSTOLE_* environment variables; see --help)`);
    return 2;
  }
  const env = process.env;
  const timeoutText = (env.SYSTOLE_TIMEOUT || "10").trim();
  try {
    if (!/^\d+(\.\d+)?$/.test(timeoutText)) {
      throw new ConfigError(`SYSTOLE_TIMEOUT must be a positive number of seconds, got '${timeoutText}'`);
    }
    const receipt = await sendHeartbeat({
      url: env.SYSTOLE_URL,
      service: env.SYSTOLE_SERVICE,
      key: env.SYSTOLE_KEY,
      status: env.SYSTOLE_STATUS || "up",
      message: env.SYSTOLE_MESSAGE || undefined,
      timeoutSeconds: Number(timeoutText),
    });
    console.log(
      `${PROG}: heartbeat recorded: service=${receipt.serviceId} status=${receipt.status} receivedAt=${receipt.receivedAt ?? "?"}`,
    );
    return 0;
  } catch (err) {
    console.error(`${PROG}: ${err.message}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

function isMainModule() {
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // Set exitCode instead of calling exit() so stdout/stderr are flushed.
  process.exitCode = await main(process.argv.slice(2));
}

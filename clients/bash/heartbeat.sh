#!/usr/bin/env bash
# Systole heartbeat sender: bash (3.2+) and curl (7.55+), nothing else.
#
#   SYSTOLE_URL=https://systole.example.workers.dev \
#   SYSTOLE_SERVICE=api-prod SYSTOLE_KEY=hb_... ./heartbeat.sh
#
# Environment:
#   SYSTOLE_URL      required  base URL of the worker, without /api
#   SYSTOLE_SERVICE  required  service id
#   SYSTOLE_KEY      optional  heartbeat key; empty/unset sends no Authorization header
#   SYSTOLE_STATUS   optional  up | degraded | down (default up)
#   SYSTOLE_MESSAGE  optional  free text, at most 1 KiB (the server rejects longer)
#   SYSTOLE_TIMEOUT  optional  seconds for the whole request (default 10)
#
# Exit status: 0 recorded, 1 delivery failed (HTTP error, network error,
# timeout, unexpected response), 2 configuration error. One attempt, no
# retries: the next scheduled run is the retry. Success prints one line to
# stdout; failures print the server's error to stderr.
#
# The key is passed to curl through a pipe (not argv), so it does not show
# up in `ps`. HTTPS_PROXY / NO_PROXY are honoured by curl; redirects are not
# followed.
set -euo pipefail
export LC_ALL=C # byte-wise matching and escaping; UTF-8 passes through untouched

prog=systole-heartbeat

usage() { sed -n '1d; /^#/!q; s/^# \{0,1\}//p' "$0"; }
config_error() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
fail() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) config_error "unexpected argument '$1' (configure with SYSTOLE_* environment variables; see --help)" ;;
esac

url="${SYSTOLE_URL:-}"
service="${SYSTOLE_SERVICE:-}"
key="${SYSTOLE_KEY:-}"
status="${SYSTOLE_STATUS:-up}"
message="${SYSTOLE_MESSAGE:-}"
timeout="${SYSTOLE_TIMEOUT:-10}"

# Trim whitespace (e.g. a stray CR/space from an env file) and trailing slashes.
trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
url=$(trim "$url"); service=$(trim "$service"); key=$(trim "$key"); timeout=$(trim "$timeout")
status=$(trim "$status" | tr '[:upper:]' '[:lower:]')
while [[ $url == */ ]]; do url=${url%/}; done

[[ -n $url ]] || config_error "SYSTOLE_URL is not set"
[[ $url =~ ^https?://[^/[:space:]]+ ]] || config_error "SYSTOLE_URL must look like https://host[:port], got '$url'"
[[ -n $service ]] || config_error "SYSTOLE_SERVICE is not set"
case "$status" in up | degraded | down) ;; *) config_error "SYSTOLE_STATUS must be up, degraded or down, got '$status'" ;; esac
[[ $timeout =~ ^[0-9]+([.][0-9]+)?$ && ! $timeout =~ ^[0.]+$ ]] ||
  config_error "SYSTOLE_TIMEOUT must be a positive number of seconds, got '$timeout'"
if [[ -n $key && $key =~ [^!-~] ]]; then config_error "SYSTOLE_KEY must contain only visible ASCII characters"; fi

# JSON string escaping: backslash, quote, and every control character U+0000..U+001F
# (bash strings cannot hold NUL). Other bytes, including UTF-8, pass through.
json_escape() {
  local s=$1 code ch rep
  s=${s//"\\"/"\\\\"}
  s=${s//'"'/'\"'}
  s=${s//$'\n'/'\n'}
  s=${s//$'\r'/'\r'}
  s=${s//$'\t'/'\t'}
  for ((code = 1; code < 32; code++)); do
    # shellcheck disable=SC2059 # deliberate: the format is the octal escape \NNN
    printf -v ch "\\$(printf '%03o' "$code")"
    [[ $s == *"$ch"* ]] || continue
    printf -v rep '\\u%04x' "$code"
    s=${s//"$ch"/"$rep"}
  done
  printf '%s' "$s"
}

body="{\"serviceId\":\"$(json_escape "$service")\",\"status\":\"$status\""
[[ -z $message ]] || body+=",\"message\":\"$(json_escape "$message")\""
body+="}"

endpoint="$url/api/heartbeat"
curl_args=(
  --silent --show-error
  --request POST
  --max-time "$timeout"
  --header 'Content-Type: application/json'
  --header 'Accept: application/json, application/problem+json'
  --user-agent 'systole-heartbeat.sh/1'
  --data-binary "$body"
  --write-out '\n%{http_code} %{redirect_url}'
)

# curl prints its own error line (DNS, refused, timeout...) on stderr.
if [[ -n $key ]]; then
  response=$(curl "${curl_args[@]}" --header @<(printf 'Authorization: Bearer %s\n' "$key") -- "$endpoint") ||
    fail "no response from $endpoint (curl exit $?)"
else
  response=$(curl "${curl_args[@]}" -- "$endpoint") ||
    fail "no response from $endpoint (curl exit $?)"
fi

trailer=${response##*$'\n'}
resp_body=${response%$'\n'*}
http_code=${trailer%% *}
redirect=${trailer#* }

# Pull a top-level string field out of a small JSON object (escapes left as-is).
json_field() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*\"(([^\"\\\\]|\\\\.)*)\""
  if [[ $2 =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]}"; else return 1; fi
}

if [[ $http_code == 2?? ]]; then
  ok_re='"ok"[[:space:]]*:[[:space:]]*true'
  [[ $resp_body =~ $ok_re ]] ||
    fail "unexpected HTTP $http_code response from $endpoint (not a Systole receipt): ${resp_body:0:500}"
  received=$(json_field receivedAt "$resp_body" || true)
  printf '%s: heartbeat recorded: service=%s status=%s receivedAt=%s\n' "$prog" "$service" "$status" "${received:-?}"
  exit 0
fi

if [[ $http_code == 3?? ]]; then
  fail "HTTP $http_code redirect to ${redirect:-?} not followed; check SYSTOLE_URL (scheme, host, no /api suffix)"
fi
title=$(json_field title "$resp_body" || true)
detail=$(json_field detail "$resp_body" || true)
field=$(json_field field "$resp_body" || true)
if [[ -n $title || -n $detail ]]; then
  fail "heartbeat for $service failed: HTTP $http_code${title:+ $title}${detail:+: $detail}${field:+ (field: $field)}"
fi
fail "heartbeat for $service failed: HTTP $http_code${resp_body:+: ${resp_body:0:1000}}"

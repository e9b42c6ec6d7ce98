#!/usr/bin/env bash
# `make run`: embedded DynamoDB (moto's server on loopback), tables, demo data, then `chalice local`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DDB_PORT=${DDB_PORT:-8001}
API_PORT=${API_PORT:-8000}
# The local stack (never true in Lambda): loopback webhook targets, the demo page, cookies over http.
export CALLTRACKING_LOCAL=true
export DYNAMODB_ENDPOINT="http://127.0.0.1:${DDB_PORT}"
export SQS_ENDPOINT="$DYNAMODB_ENDPOINT"  # moto's server serves SQS and the DynamoDB stream too
export S3_ENDPOINT="$DYNAMODB_ENDPOINT"   # and S3: the recordings bucket
export SSM_ENDPOINT="$DYNAMODB_ENDPOINT"  # and SSM: alert channels' secrets (Slack webhook URLs)
export SES_ENDPOINT="$DYNAMODB_ENDPOINT"  # and SES: alert and summary emails
# Everything this stack writes and prints follows its ports, so two stacks side by side share no
# log, stub or hint: logs under .local/run-<API_PORT>/, the Slack stub on API_PORT + 25 (8025).
RUN_DIR=".local/run-${API_PORT}"
mkdir -p "$RUN_DIR"
SLACK_PORT=${SLACK_PORT:-$((API_PORT + 25))}
SLACK_LOG=${SLACK_LOG:-${RUN_DIR}/slack.log}
export PUBLIC_BASE_URL="http://127.0.0.1:${API_PORT}"
# The commands the hints below print reach this stack, not the default one.
if [ "$DDB_PORT" = 8001 ] && [ "$API_PORT" = 8000 ]; then PORTS=""; else PORTS="DDB_PORT=${DDB_PORT} API_PORT=${API_PORT} "; fi

"$PY" scripts/dynamodb_server.py --port "$DDB_PORT" >"${RUN_DIR}/dynamodb.log" 2>&1 &
DDB_PID=$!
PUMP_PID=""
# A local stand-in for Slack's incoming webhooks: the demo Slack recipient's alerts land in its log.
"$PY" scripts/slack_stub.py --port "$SLACK_PORT" >"$SLACK_LOG" 2>&1 &
SLACK_PID=$!
trap 'kill $DDB_PID $PUMP_PID $SLACK_PID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${DDB_PORT}") 2>/dev/null; then break; fi
  kill -0 "$DDB_PID" 2>/dev/null || { echo "embedded DynamoDB failed to start: see ${RUN_DIR}/dynamodb.log"; exit 1; }
  sleep 0.1
done

"$PY" scripts/local.py create-tables
# The event pump does locally what DynamoDB Streams, SQS and the schedule do when deployed:
# call changes become events, and the reports (and every other subscriber) follow them.
"$PY" scripts/local.py pump >"${RUN_DIR}/events.log" 2>&1 &
PUMP_PID=$!
# The dashboard's demo admin, made while the demo data is seeded (its password hash takes a moment).
ADMIN_OUT=$(mktemp)
"$PY" scripts/local.py seed-admin >"$ADMIN_OUT" &
ADMIN_PID=$!
# `make run DEMO=no`: a fresh install (no channels, numbers or calls): the dashboard opens on its
# first-run checklist, and the test website (/demo/site) takes a pool's script tag.
if [ "${DEMO:-yes}" != no ]; then
echo "demo data:"
"$PY" scripts/local.py seed
"$PY" scripts/local.py seed-calls --days 30
# Demo alert recipients (an email owner, a Slack channel on the local stub), after the demo month:
# calls from before a recipient existed alert nobody.
"$PY" scripts/local.py seed-alerts --slack-url "http://127.0.0.1:${SLACK_PORT}/services/LOCAL/DEMO/webhook"
fi
wait "$ADMIN_PID"
read -r DEMO_EMAIL DEMO_PASSWORD < "$ADMIN_OUT"
rm -f "$ADMIN_OUT"

if [ "${DEMO:-yes}" = no ]; then FIRST="   (a fresh install: it opens on the setup checklist)"; else FIRST=""; fi
cat <<MSG

  dashboard    ${PUBLIC_BASE_URL}/dashboard${FIRST}
               sign in as ${DEMO_EMAIL}  password ${DEMO_PASSWORD}   (a new password each run; more users: make ${PORTS}user EMAIL=... ROLE=viewer)
  API          ${PUBLIC_BASE_URL}   (management key: local-dev-key)
  demo page    ${PUBLIC_BASE_URL}/demo?utm_source=newsletter&utm_medium=email   (with demo data)
  test website ${PUBLIC_BASE_URL}/demo/site   (paste a website pool's script tag into it; \`make run DEMO=no\`: no demo data)
  channels     curl -H 'Authorization: Bearer local-dev-key' ${PUBLIC_BASE_URL}/v1/numbers
  a call       make ${PORTS}call TO=<a tracking number above>
  DynamoDB     ${DYNAMODB_ENDPOINT} (stop it to see calls survive: kill ${DDB_PID})
  events       the event pump (pid ${PUMP_PID}), log in ${RUN_DIR}/events.log
  alerts       a missed call (make ${PORTS}call TO=<number> ANSWER=no) emails owner@calltracking.local
               (read it: ${PORTS}.venv/bin/python scripts/local.py emails) and posts to the local Slack stub
               (tail -f ${SLACK_LOG}); recipients: GET /v1/alerts/recipients
  recordings   copied by the pump into the embedded S3 (${S3_ENDPOINT}, bucket calltracking-local-recordings);
               play one: GET /v1/calls/<sid>/recording gives a presigned URL

MSG
if [ "$DDB_PORT" = 8001 ] && [ "$API_PORT" = 8000 ]; then
  # The stage's own settings in .chalice/config.json describe exactly this.
  exec .venv/bin/chalice local --stage local --host 127.0.0.1 --port 8000
fi
# Other ports: the same local server, with the stage's endpoint and base URL overridden.
exec "$PY" scripts/serve_local.py --port "$API_PORT" --set "DYNAMODB_ENDPOINT=${DYNAMODB_ENDPOINT}" --set "SQS_ENDPOINT=${SQS_ENDPOINT}" --set "S3_ENDPOINT=${S3_ENDPOINT}" --set "SSM_ENDPOINT=${SSM_ENDPOINT}" --set "SES_ENDPOINT=${SES_ENDPOINT}" --set "PUBLIC_BASE_URL=${PUBLIC_BASE_URL}"

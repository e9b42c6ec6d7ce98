"""The Chalice app: creates it, registers blueprints and middleware. No logic lives here."""

from chalice import Chalice, ConvertToMiddleware

from chalicelib import audit
from chalicelib.core.observability import logger, metrics
from chalicelib.integrations.wiring import INTEGRATIONS
from chalicelib.routes import (
    dashboard_auth,
    dashboard_outlets,  # setup: alerts, webhooks, spend, blocked callers, users
    dashboard_pages,
    dashboard_setup,
    events,
    http,
    management,
    public,
    register_integration_routes,
    twilio_hooks,
)

app = Chalice(app_name="calltracking", configure_logs=False)
audit.install()  # every change an owner or a key makes is also an audit entry
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics(raise_on_empty_metrics=False)))
app.register_middleware(http.middleware, "http")
app.register_blueprint(twilio_hooks.bp)
app.register_blueprint(management.bp)
app.register_blueprint(public.bp)
app.register_blueprint(events.bp)
app.register_blueprint(dashboard_auth.bp)
app.register_blueprint(dashboard_pages.bp)
app.register_blueprint(dashboard_outlets.bp)
app.register_blueprint(dashboard_setup.bp)  # numbers, channels, pools, call handling, first run
# Each integration's (and reports', recordings', events') own routes, from the one wiring list.
register_integration_routes(app, INTEGRATIONS)

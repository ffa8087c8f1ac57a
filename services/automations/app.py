from chalice.app import Chalice
from chalicelib import api, webhook_api  # noqa: F401 - their operations register on the shared blueprint
from chalicelib.events import events
from chalicelib.http import api as routes
from chalicelib.runtime import runtime

app = Chalice(app_name="caseline-automations")
app.register_blueprint(routes)
app.register_blueprint(events)
runtime.observability.instrument(app)

from caseline_common import coldstart  # first: see its docstring
from chalice.app import Chalice
from chalicelib.api import api
from chalicelib.events import events
from chalicelib.runtime import runtime

app = Chalice(app_name="caseline-tasks")
app.register_blueprint(api)
app.register_blueprint(events)
runtime.observability.instrument(app)
coldstart.loaded()

from caseline_common import coldstart  # first: see its docstring
from chalice.app import Chalice
from chalicelib.api import api
from chalicelib.events import events
from chalicelib.pages import pages
from chalicelib.runtime import runtime

app = Chalice(app_name="caseline-portal")
app.register_blueprint(api)
app.register_blueprint(events)
app.register_blueprint(pages)
runtime.observability.instrument(app)
coldstart.loaded()

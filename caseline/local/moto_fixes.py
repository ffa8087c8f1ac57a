"""Narrow corrections to the emulator where it differs from AWS in ways our code depends on."""

from moto.events.utils import EventTemplateParser


def apply() -> None:
    """EventBridge delivers the whole event to targets; moto 5.2's default template leaves out `account`,
    which Powertools' EventBridgeModel (rightly) requires."""
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",'
        )

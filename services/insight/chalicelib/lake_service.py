"""The lake writer: a batch of bus events into the lake, one object per day, and the groups that may read each
template's figures from the `template.published` among them."""

from caseline_common.consumer import StatefulEvent
from caseline_common.events import EventType, TemplatePublished, data_of

from .domain.lake import lake_rows
from .ports import Lake, TemplateReaders


class LakeWriter:
    def __init__(self, lake: Lake, readers: TemplateReaders) -> None:
        self._lake = lake
        self._readers = readers

    def write(self, events: list[StatefulEvent]) -> list[str]:
        """Writes the batch's rows at once (one object per day); returns the keys written. Safe to repeat: a row
        written twice is counted once by every query (by its event id), and readers keep the newest version."""
        for event in events:
            if event.type == EventType.TEMPLATE_PUBLISHED:
                published = data_of(event, TemplatePublished)
                groups = sorted({group for role in published.definition.roles for group in role.groups})
                self._readers.record(published.template_key, published.version, groups)
        rows = [row for event in events for row in lake_rows(event)]
        return self._lake.write(rows) if rows else []

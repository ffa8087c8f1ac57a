"""Who may put events on the tenant bus. moto does not enforce IAM, so a function that publishes without the
right works locally and fails in AWS: each publisher is named here."""

from infra.functions import BUS_SOURCES


def test_the_portal_consumer_may_publish_the_link_events_of_the_links_it_e_mails() -> None:
    # A document request makes the portal's consumer issue (and, if sending fails, revoke) a link per participant.
    assert BUS_SOURCES[("portal", "portal_consumer")] == ("caseline.portal",)


def test_no_function_may_publish_as_another_service() -> None:
    for (service, _function), sources in BUS_SOURCES.items():
        assert all(source.split(".", 1)[1] == service for source in sources), (service, sources)

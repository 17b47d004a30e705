"""The server starts, serves its WSDL and answers a first call."""


def test_get_subscribers_of_fixture_subscriber(server, client):
    result = client.service.getSubscribers(
        mandatorId=1, emailAddresses={"item": ["anna.schmidt@example.de"]})
    assert result[0].subscriberEmail == "Anna.Schmidt@example.de"
    assert result[0].status == 1
    assert result[0].newsletterListIds == "1"

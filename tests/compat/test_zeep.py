"""zeep against the BACKCLICK WSDL: the round trip the other stacks run, for the docs' snippet."""
import pytest


def wrapped(value) -> list:
    """The members of a wrapped array as zeep returns it (an empty wrapper comes back as None)."""
    return list(value.item) if value is not None else []


def relation(client, checks, email: str) -> dict:
    """getSubscriberToNewsletterListRelation for all lists, as plain data."""
    result = client.service.getSubscriberToNewsletterListRelation(
        mandatorId=checks.mandator, apiKey=checks.api_key, newsletterListId=0,
        subscriberEmail=email)
    return {"subscriberAvailable": result.subscriberAvailable,
            "lists": [{"listId": i.listId, "listName": i.listName,
                       "listDescription": i.listDescription, "listStatus": i.listStatus}
                      for i in wrapped(result.listInformations)]}


def save(client, checks, email: str, api_key: str):
    """saveOrCreateSubscriber of one subscriber on lists 1 and 2."""
    return client.service.saveOrCreateSubscriber(
        mandatorId=checks.mandator, apiKey=api_key, listsAdditive=False,
        subscribers={"item": [{
            "subscriberEmail": email,
            "newsletterListIds": {"item": [1, 2]},
            "subscriberFields": {"item": [{"name": n, "value": v}
                                          for n, v in checks.fields.items()]},
        }]})


def test_zeep_roundtrip(checks, shared_server):
    email = "zeep.roundtrip@example.com"
    client = shared_server.zeep()
    saved = save(client, checks, email, checks.api_key)
    # zeep reads an empty wrapper (<invalidEmailAddresses/>) as None.
    report = {"save": {"responseCode": saved.responseCode,
                       "invalid": wrapped(saved.invalidEmailAddresses),
                       "blocked": wrapped(saved.blockedEmailAddresses)}}
    found = client.service.getSubscribers(
        mandatorId=checks.mandator, apiKey=checks.api_key, fillSubscriberFields=True,
        emailAddresses={"item": [email]})
    # zeep unwraps a response with one member: this is the list of Subscriber items.
    report["subscribers"] = [{
        "subscriberEmail": s.subscriberEmail, "status": s.status, "mandatorId": s.mandatorId,
        "newsletterListIds": s.newsletterListIds,
        "fields": {f.name: f.value for f in wrapped(s.subscriberFields)}} for s in found]
    report["relationBefore"] = relation(client, checks, email)
    report["unsubscribe"] = client.service.unsubscribeSubscriber(
        mandatorId=checks.mandator, apiKey=checks.api_key, subscriberEmail=email,
        newsletterListIds={"item": [2]})
    report["relationAfter"] = relation(client, checks, email)
    checks.roundtrip(report, shared_server, email)


def test_zeep_invalid_api_key_is_a_fault(checks, shared_server):
    from zeep.exceptions import Fault
    email = "zeep.fault@example.com"
    with pytest.raises(Fault) as raised:
        save(shared_server.zeep(), checks, email, checks.wrong_key)
    assert raised.value.message == "Invalid API key."
    checks.invalid_key({"faultcode": raised.value.code, "faultstring": raised.value.message},
                       shared_server, email)

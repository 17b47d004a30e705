"""suds (suds-community) against the BACKCLICK WSDL, with the store checked after each step."""
import pytest


def wrapped(value) -> list:
    """The members of a wrapped array as suds returns it (an empty wrapper comes back as '')."""
    return list(getattr(value, "item", None) or [])


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
    """saveOrCreateSubscriber of one subscriber on lists 1 and 2, built from WSDL types."""
    subscriber = client.factory.create("SubscriberData")
    subscriber.subscriberEmail = email
    subscriber.newsletterListIds = client.factory.create("intArray")
    subscriber.newsletterListIds.item = [1, 2]
    subscriber.subscriberFields = client.factory.create("FieldArray")
    for name, value in checks.fields.items():
        field = client.factory.create("Field")
        field.name, field.value = name, value
        subscriber.subscriberFields.item.append(field)
    return client.service.saveOrCreateSubscriber(
        mandatorId=checks.mandator, apiKey=api_key, listsAdditive=False,
        subscribers={"item": [subscriber]})


def test_suds_roundtrip(suds_client, checks, shared_server):
    email = "suds.roundtrip@example.com"
    client = suds_client(shared_server.backclick_wsdl)
    report = {}
    saved = save(client, checks, email, checks.api_key)
    report["save"] = {"responseCode": saved.responseCode,
                      "invalid": wrapped(saved.invalidEmailAddresses),
                      "blocked": wrapped(saved.blockedEmailAddresses)}
    assert checks.memberships(shared_server, email) == {1: 0, 2: 0}

    found = client.service.getSubscribers(
        mandatorId=checks.mandator, apiKey=checks.api_key, fillSubscriberFields=True,
        emailAddresses={"item": [email]})
    # suds unwraps a response with one member: this is the SubscriberArray itself.
    report["subscribers"] = [{
        "subscriberEmail": s.subscriberEmail, "status": s.status, "mandatorId": s.mandatorId,
        "newsletterListIds": s.newsletterListIds,
        "fields": {f.name: f.value for f in wrapped(s.subscriberFields)}}
        for s in wrapped(found)]

    report["relationBefore"] = relation(client, checks, email)
    report["unsubscribe"] = client.service.unsubscribeSubscriber(
        mandatorId=checks.mandator, apiKey=checks.api_key, subscriberEmail=email,
        newsletterListIds={"item": [2]})
    assert checks.memberships(shared_server, email) == {1: 0, 2: 1}
    report["relationAfter"] = relation(client, checks, email)
    checks.roundtrip(report, shared_server, email)


def test_suds_invalid_api_key_is_a_webfault(suds_client, checks, shared_server):
    from suds import WebFault
    email = "suds.fault@example.com"
    client = suds_client(shared_server.backclick_wsdl)
    with pytest.raises(WebFault) as raised:
        save(client, checks, email, checks.wrong_key)
    fault = raised.value.fault
    assert fault.faultstring == "Invalid API key."
    checks.invalid_key({"faultcode": fault.faultcode, "faultstring": fault.faultstring},
                       shared_server, email)

"""The BACKCLICK SOAP API v2 operations: wire values in, domain calls, wire values out."""
from spyne import ServiceBase, rpc
from spyne.model.primitive import Boolean, Unicode

from mockserver import auth, subscribers
from mockserver.backclick.types import (
    Int, IntArray, ListInformationArray, StringArray, SubscriberArray,
    SubscriberDataArray, optional, required,
)
from mockserver.backclick import types as t

MandatorId = required(Int)
ApiKey = optional(Unicode)
Flag = optional(Boolean)


def _items(value) -> list:
    """The members of an optional wrapped array (absent -> empty list)."""
    return list(value or [])


def _flag(value, default: bool) -> bool:
    return default if value is None else bool(value)


def _admit(ctx, mandator_id: int, api_key: str | None) -> None:
    call = ctx.udc
    call.tenant = mandator_id
    auth.check_mandator(call.store, mandator_id, api_key, call.caller)


def _subscriber_data(item) -> subscribers.SubscriberData:
    return subscribers.SubscriberData(
        email=item.subscriberEmail or "",
        list_ids=None if item.newsletterListIds is None else
        [i for i in item.newsletterListIds if i is not None],
        mandator_id=item.mandatorId,
        double_optin_template_id=item.doubleOptinTemplateId or 0,
        change_profile_template_id=item.changeProfileTemplateId or 0,
        fields=[(f.name, f.value) for f in _items(item.subscriberFields) if f is not None],
    )


class BackclickService(ServiceBase):
    """BACKCLICK SOAP API v2."""

    @rpc(MandatorId, ApiKey, Flag, Flag, Flag, Flag, Flag, Flag, SubscriberDataArray,
         _in_variable_names={"subscriber_list": "subscribers"},
         _returns=(required(Int), StringArray, StringArray),
         _out_variable_names=("responseCode", "invalidEmailAddresses", "blockedEmailAddresses"))
    def saveOrCreateSubscriber(ctx, mandatorId, apiKey, listsAdditive, deleteBlankFields,
                               sendLastNewsletter, sendWelcome, filterAntiSpam, confirmChange,
                               subscriber_list):
        """Create or update subscribers, keyed by e-mail address."""
        _admit(ctx, mandatorId, apiKey)
        options = subscribers.SaveOptions(
            lists_additive=_flag(listsAdditive, False),
            delete_blank_fields=_flag(deleteBlankFields, False),
            send_last_newsletter=_flag(sendLastNewsletter, False),
            send_welcome=_flag(sendWelcome, False),
            filter_anti_spam=_flag(filterAntiSpam, True),
            confirm_change=_flag(confirmChange, False))
        data = [_subscriber_data(s) for s in _items(subscriber_list) if s is not None]
        result = subscribers.save_or_create(ctx.udc.store, mandatorId, data, options,
                                            ctx.udc.base_url)
        return result.response_code, result.invalid, result.blocked

    @rpc(MandatorId, ApiKey, required(Unicode),
         _returns=(required(Int), StringArray, StringArray),
         _out_variable_names=("importedCount", "invalidEmailAddresses", "blockedEmailAddresses"))
    def importSubscribers(ctx, mandatorId, apiKey, importData):
        """Import subscribers from a tab-separated BACKCLICK import file, all or nothing."""
        _admit(ctx, mandatorId, apiKey)
        result = subscribers.import_subscribers(ctx.udc.store, mandatorId, importData)
        return result.imported, result.invalid, result.blocked

    @rpc(MandatorId, ApiKey, Flag, StringArray,
         _returns=SubscriberArray, _out_variable_name="subscribers")
    def getSubscribers(ctx, mandatorId, apiKey, fillSubscriberFields, emailAddresses):
        """Look subscribers up by address, one answer per address in request order."""
        _admit(ctx, mandatorId, apiKey)
        views = subscribers.get_subscribers(
            ctx.udc.store, mandatorId, [e or "" for e in _items(emailAddresses)],
            _flag(fillSubscriberFields, False))
        return [t.Subscriber(
            subscriberEmail=v.email, status=v.status, mandatorId=v.mandator_id,
            newsletterListIds=v.list_ids,
            subscriberFields=None if v.fields is None else
            [t.Field(name=n, value=val) for n, val in v.fields]) for v in views]

    @rpc(MandatorId, ApiKey, required(Int), required(Unicode),
         _returns=(ListInformationArray, required(Boolean)),
         _out_variable_names=("listInformations", "subscriberAvailable"))
    def getSubscriberToNewsletterListRelation(ctx, mandatorId, apiKey, newsletterListId,
                                              subscriberEmail):
        """A subscriber's status on one list, or on all lists for list id 0."""
        _admit(ctx, mandatorId, apiKey)
        infos, available = subscribers.list_relation(ctx.udc.store, mandatorId, newsletterListId,
                                                     subscriberEmail)
        return [t.ListInformation(listDescription=i.description, listId=i.list_id,
                                  listName=i.name, listStatus=i.status) for i in infos], available

    @rpc(MandatorId, ApiKey, required(Unicode), IntArray,
         _returns=required(Int), _out_variable_name="responseCode")
    def unsubscribeSubscriber(ctx, mandatorId, apiKey, subscriberEmail, newsletterListIds):
        """Unsubscribe an address from the given lists (all lists when none are given)."""
        _admit(ctx, mandatorId, apiKey)
        return subscribers.unsubscribe(ctx.udc.store, mandatorId, subscriberEmail,
                                       [i for i in _items(newsletterListIds) if i is not None])

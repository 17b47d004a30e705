"""The BACKCLICK SOAP API v2 operations: wire values in, domain calls, wire values out."""
import mimetypes

from spyne import ServiceBase, rpc
from spyne.model.primitive import Boolean, DateTime, Unicode

from mockserver.machinery import clock, outbox
from mockserver.backclick import access, newsletters, subscribers, transactions
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
    access.check_mandator(call.store, mandator_id, api_key, call.caller)


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

    @rpc(MandatorId, ApiKey, SubscriberDataArray, optional(Unicode), optional(Unicode),
         optional(Unicode), optional(Int), optional(Unicode), optional(DateTime),
         optional(Unicode), optional(Unicode),
         _returns=required(Int), _out_variable_name="newsletterId")
    def sendNewsletter(ctx, mandatorId, apiKey, recipients, subject, newsletterContent,
                       alternativeContent, templateId, adhockInformation, sendTime, senderName,
                       senderEmail):
        """Newsletter-Versand (I): send a newsletter to the recipients in the request."""
        _admit(ctx, mandatorId, apiKey)
        content = _content(subject, newsletterContent, alternativeContent, templateId,
                           adhockInformation, sendTime, senderName, senderEmail)
        return newsletters.send_newsletter(
            ctx.udc.store, mandatorId, [_subscriber_data(r) for r in _items(recipients) if r],
            content, ctx.udc.base_url)

    @rpc(MandatorId, ApiKey, optional(Int), IntArray, optional(Unicode), optional(Unicode),
         optional(Unicode), optional(Int), optional(Unicode), optional(DateTime),
         optional(Unicode), optional(Unicode),
         _returns=required(Int), _out_variable_name="newsletterId")
    def sendNewsletterToList(ctx, mandatorId, apiKey, newsletterListId, profileFilterIds, subject,
                             newsletterContent, alternativeContent, templateId, adhockInformation,
                             sendTime, senderName, senderEmail):
        """Newsletter-Versand (II): send a newsletter to a list and/or profile filters."""
        _admit(ctx, mandatorId, apiKey)
        content = _content(subject, newsletterContent, alternativeContent, templateId,
                           adhockInformation, sendTime, senderName, senderEmail)
        return newsletters.send_newsletter_to_list(
            ctx.udc.store, mandatorId, newsletterListId,
            [i for i in _items(profileFilterIds) if i is not None], content, ctx.udc.base_url)

    @rpc(MandatorId, ApiKey, IntArray, optional(Int), optional(DateTime), optional(DateTime),
         _in_variable_names={"start": "from", "end": "to"},
         _returns=t.NewsletterStatisticDataArray, _out_variable_name="newsletterStatistics")
    def NewsletterStatistic(ctx, mandatorId, apiKey, newsletterIds, newsletterListId, start, end):
        """Dispatch figures of newsletters: by ids, or by list and period."""
        _admit(ctx, mandatorId, apiKey)
        return [t.NewsletterStatisticData(
            newsletterId=f.newsletter["id"], newsletterListId=f.newsletter["list_id"] or 0,
            newsletterSubject=f.newsletter["subject"], state=f.state,
            sendStartTime=_send_start(f), numRecipientsUnadjusted=f.newsletter["num_unadjusted"],
            numExcludedBlocked=f.newsletter["excluded_blocked"],
            numExcludedInvalid=f.newsletter["excluded_invalid"],
            numExcludedDuplicate=f.newsletter["excluded_duplicate"],
            numRecipientsAdjusted=f.newsletter["num_adjusted"], numDelivered=f.delivered,
            numBounced=f.bounced)
            for f in _figures(ctx, mandatorId, newsletterIds, newsletterListId, start, end)]

    @rpc(MandatorId, ApiKey, IntArray, optional(Int), optional(DateTime), optional(DateTime),
         _in_variable_names={"start": "from", "end": "to"},
         _returns=t.BackclickStatisticDataArray, _out_variable_name="backclickStatistic")
    def BackclickStatistic(ctx, mandatorId, apiKey, newsletterIds, newsletterListId, start, end):
        """Open, click, bounce and unsubscribe figures of newsletters: by ids, or by list and period."""
        _admit(ctx, mandatorId, apiKey)
        return [t.BackclickStatisticData(
            sendedByInternalMta=True, usedConversionTracking=False, abTest=False,
            newsletterListName=f.list_name, newsletterSubject=f.newsletter["subject"],
            newsletterDescription="", newsletterId=f.newsletter["id"],
            newsletterListId=f.newsletter["list_id"] or 0, sendStartTime=_send_start(f),
            numRecipientsUnadjusted=f.newsletter["num_unadjusted"],
            numRecipientsAdjusted=f.newsletter["num_adjusted"], numSend=f.mails,
            numDelivered=f.delivered, numLinksClicked=f.clicks, numOpened=f.opens,
            numUniqueOpened=f.unique_opens, numUniqueClicks=f.unique_clicks,
            numHardBounces=f.hard_bounces, numSoftBounces=f.soft_bounces,
            numUnsubscribes=f.unsubscribes, numComplaints=f.complaints, numConversions=0)
            for f in _figures(ctx, mandatorId, newsletterIds, newsletterListId, start, end)]

    @rpc(MandatorId, ApiKey, optional(Unicode), optional(Unicode),
         _returns=required(Int), _out_variable_name="channelId")
    def createTransactionChannel(ctx, mandatorId, apiKey, channelName, channelDescription):
        """Create a transaction channel (named ``Channel <id>`` when no name is given)."""
        _admit(ctx, mandatorId, apiKey)
        return transactions.create_channel(ctx.udc.store, mandatorId, channelName,
                                           channelDescription)

    @rpc(MandatorId, ApiKey, required(Int), optional(Int), optional(Unicode), optional(Unicode),
         optional(Unicode), optional(Unicode), optional(Unicode), optional(Unicode),
         optional(Int), required(t.TransactionRecipient), t.AttachmentArray, optional(Int),
         _returns=required(Int), _out_variable_name="transactionId")
    def sendTransactionMail(ctx, mandatorId, apiKey, channelId, campaignId, subject, senderEmail,
                            senderName, replyTo, mailContent, alternativeMailContent, templateId,
                            recipient, attachments, voucherListId):
        """Send one personalised transaction mail (with attachments and a voucher code)."""
        _admit(ctx, mandatorId, apiKey)
        mail = transactions.TransactionMail(
            channel_id=channelId, campaign_id=campaignId, subject=subject,
            sender_email=senderEmail or "", sender_name=senderName or "",
            reply_to=replyTo or "", content=mailContent, alternative=alternativeMailContent,
            template_id=templateId, recipient_email=recipient.emailAddress or "",
            fields=[(f.name, f.value) for f in _items(recipient.subscriberFields) if f],
            list_id=recipient.newsletterListId or None, voucher_list_id=voucherListId or None,
            attachments=[_attachment(a) for a in _items(attachments) if a])
        return transactions.send_transaction_mail(ctx.udc.store, mandatorId, mail,
                                                  ctx.udc.base_url)


def _content(subject, content, alternative, template_id, adhock, send_time, sender_name,
             sender_email) -> newsletters.Content:
    return newsletters.Content(
        subject=subject, content=content, alternative=alternative, template_id=template_id,
        adhock=adhock or "", send_time=_aware(send_time), sender_name=sender_name or "",
        sender_email=sender_email or "")


def _aware(moment):
    """A client's dateTime; one without an offset is in the server's time zone."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _figures(ctx, mandator_id, newsletter_ids, list_id, start, end):
    ids = None if newsletter_ids is None else [i for i in newsletter_ids if i is not None]
    return newsletters.statistics(ctx.udc.store, mandator_id, ids, list_id, _aware(start),
                                  _aware(end))


def _send_start(figures):
    letter = figures.newsletter
    return clock.local(clock.parse_stamp(letter["started"] or letter["send_time"]))


def _attachment(item) -> outbox.Attachment:
    data = item.data
    if isinstance(data, (list, tuple)):  # spyne hands base64Binary over as chunks
        data = b"".join(data)
    content_type = mimetypes.guess_type(item.name or "")[0] or "application/octet-stream"
    return outbox.Attachment(name=item.name or "attachment", data=data or b"",
                             content_type=content_type)

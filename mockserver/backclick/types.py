"""Spyne types of the BACKCLICK SOAP API v2 (element and type names are part of the contract)."""
from spyne.model.complex import Array, ComplexModel
from spyne.model.binary import ByteArray
from spyne.model.primitive import Boolean, DateTime, Integer32, Unicode

TNS = "http://soap.rpc.bc.backclick.de/"


def required(model, **kwargs):
    """An element that must be present and is not nillable."""
    return model.customize(min_occurs=1, nillable=False, **kwargs)


def optional(model, **kwargs):
    """An element that may be absent and is not nillable."""
    return model.customize(min_occurs=0, nillable=False, **kwargs)


Int = Integer32  # xs:int, never xs:integer
IntArray = optional(Array(optional(Int), member_name="item"))
StringArray = optional(Array(optional(Unicode), member_name="item"))


class Field(ComplexModel):
    """A database field value: ``{name, value}``."""

    __namespace__ = TNS
    _type_info = [
        ("name", required(Unicode)),
        ("value", optional(Unicode)),
    ]


FieldArray = optional(Array(optional(Field), member_name="item"))


class SubscriberData(ComplexModel):
    """A subscriber as a client sends it."""

    __namespace__ = TNS
    _type_info = [
        ("subscriberEmail", required(Unicode)),
        ("newsletterListIds", IntArray),
        ("mandatorId", optional(Int)),
        ("doubleOptinTemplateId", optional(Int)),
        ("changeProfileTemplateId", optional(Int)),
        ("subscriberFields", FieldArray),
    ]


SubscriberDataArray = optional(Array(optional(SubscriberData), member_name="item"))


class Subscriber(ComplexModel):
    """A subscriber as getSubscribers reports it."""

    __namespace__ = TNS
    _type_info = [
        ("subscriberEmail", required(Unicode)),
        ("status", required(Int)),
        ("mandatorId", required(Int)),
        ("newsletterListIds", required(Unicode)),
        ("subscriberFields", FieldArray),
    ]


SubscriberArray = optional(Array(optional(Subscriber), member_name="item"))


class ListInformation(ComplexModel):
    """One list membership of a subscriber."""

    __namespace__ = TNS
    _type_info = [
        ("listDescription", required(Unicode)),
        ("listId", required(Int)),
        ("listName", required(Unicode)),
        ("listStatus", required(Int)),
    ]


ListInformationArray = optional(Array(optional(ListInformation), member_name="item"))


class Attachment(ComplexModel):
    """A file attached to a transaction mail."""

    __namespace__ = TNS
    _type_info = [
        ("name", required(Unicode)),
        ("data", required(ByteArray)),
    ]


AttachmentArray = optional(Array(optional(Attachment), member_name="item"))


class TransactionRecipient(ComplexModel):
    """The one recipient of a transaction mail."""

    __namespace__ = TNS
    _type_info = [
        ("emailAddress", required(Unicode)),
        ("subscriberFields", FieldArray),
        ("newsletterListId", optional(Int)),
    ]


class NewsletterStatisticData(ComplexModel):
    """What NewsletterStatistic reports of one newsletter."""

    __namespace__ = TNS
    _type_info = [
        ("newsletterId", required(Int)),
        ("newsletterListId", required(Int)),
        ("newsletterSubject", required(Unicode)),
        ("state", required(Unicode)),
        ("sendStartTime", required(DateTime)),
        ("numRecipientsUnadjusted", required(Int)),
        ("numExcludedBlocked", required(Int)),
        ("numExcludedInvalid", required(Int)),
        ("numExcludedDuplicate", required(Int)),
        ("numRecipientsAdjusted", required(Int)),
        ("numDelivered", required(Int)),
        ("numBounced", required(Int)),
    ]


NewsletterStatisticDataArray = optional(Array(optional(NewsletterStatisticData),
                                              member_name="item"))


class BackclickStatisticData(ComplexModel):
    """What BackclickStatistic reports of one newsletter (22 members)."""

    __namespace__ = TNS
    _type_info = [
        ("sendedByInternalMta", required(Boolean)),
        ("usedConversionTracking", required(Boolean)),
        ("abTest", required(Boolean)),
        ("newsletterListName", required(Unicode)),
        ("newsletterSubject", required(Unicode)),
        ("newsletterDescription", required(Unicode)),
        ("newsletterId", required(Int)),
        ("newsletterListId", required(Int)),
        ("sendStartTime", required(DateTime)),
        ("numRecipientsUnadjusted", required(Int)),
        ("numRecipientsAdjusted", required(Int)),
        ("numSend", required(Int)),
        ("numDelivered", required(Int)),
        ("numLinksClicked", required(Int)),
        ("numOpened", required(Int)),
        ("numUniqueOpened", required(Int)),
        ("numUniqueClicks", required(Int)),
        ("numHardBounces", required(Int)),
        ("numSoftBounces", required(Int)),
        ("numUnsubscribes", required(Int)),
        ("numComplaints", required(Int)),
        ("numConversions", required(Int)),
    ]


BackclickStatisticDataArray = optional(Array(optional(BackclickStatisticData),
                                             member_name="item"))

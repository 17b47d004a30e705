"""The shop's newsletter sign-up and order mails, through BACKCLICK's SOAP API v2."""
from __future__ import annotations

import zeep

DOUBLE_OPT_IN_TEMPLATE = 10  # configured at the vendor: the confirmation mail
NEWSLETTER_LIST = 1


class NewsletterUnavailable(Exception):
    """BACKCLICK refused the call; the shop shows "try again later"."""


class Newsletter:
    """The shop's BACKCLICK account: one mandator, one API key."""

    def __init__(self, wsdl: str, mandator_id: int, api_key: str):
        """A client for ``wsdl`` acting for the mandator."""
        self.service = zeep.Client(wsdl).service
        self.mandator_id, self.api_key = mandator_id, api_key

    def _call(self, operation: str, **arguments):
        try:
            return getattr(self.service, operation)(
                mandatorId=self.mandator_id, apiKey=self.api_key, **arguments)
        except zeep.exceptions.Fault as fault:
            raise NewsletterUnavailable(fault.message) from fault

    def sign_up(self, email: str, first_name: str) -> bool:
        """Sign a customer up with double opt-in; True when BACKCLICK accepted the address."""
        result = self._call("saveOrCreateSubscriber", listsAdditive=True, subscribers={"item": [{
            "subscriberEmail": email,
            "newsletterListIds": {"item": [NEWSLETTER_LIST]},
            "doubleOptinTemplateId": DOUBLE_OPT_IN_TEMPLATE,
            "subscriberFields": {"item": [{"name": "FIRSTNAME", "value": first_name}]},
        }]})
        return result.responseCode == 0

    def status(self, email: str) -> str:
        """"subscribed", "pending", "unsubscribed" or "unknown"."""
        found = self._call("getSubscribers", emailAddresses={"item": [email]})[0]
        return {-1: "unknown", 0: "unsubscribed", 1: "subscribed", 2: "pending",
                3: "blocked"}[found.status]

    def first_name(self, email: str) -> str | None:
        """The FIRSTNAME BACKCLICK holds for a subscriber."""
        found = self._call("getSubscribers", fillSubscriberFields=True,
                           emailAddresses={"item": [email]})[0]
        fields = found.subscriberFields["item"] if found.subscriberFields else []
        return next((f.value for f in fields if f.name == "FIRSTNAME"), None)

    def order_confirmation(self, email: str, order_number: str, invoice_pdf: bytes) -> int:
        """The order confirmation with the invoice attached; BACKCLICK's transaction id."""
        channel = self._call("createTransactionChannel", channelName="orders")
        return self._call("sendTransactionMail", channelId=channel,
                          subject=f"Your order {order_number}", senderEmail="shop@example.com",
                          mailContent=f"Thank you for order {order_number}, $$FIRSTNAME$$.",
                          recipient={"emailAddress": email},
                          attachments={"item": [{"name": f"invoice-{order_number}.pdf",
                                                 "data": invoice_pdf}]})

    def weekly_newsletter(self, subject: str, html: str, send_time) -> int:
        """Schedule the newsletter to the whole list; its newsletter id."""
        return self._call("sendNewsletterToList", newsletterListId=NEWSLETTER_LIST,
                          subject=subject, newsletterContent=html, sendTime=send_time,
                          senderEmail="shop@example.com")

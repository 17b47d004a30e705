"""The shop's customer records in Copernica, through its SOAP API."""
from __future__ import annotations

import requests
import zeep
from zeep.transports import Transport


class Crm:
    """The shop's Copernica account, reached with an access token."""

    def __init__(self, wsdl: str, access_token: str, database: str = "customers"):
        """A client for ``wsdl`` sending the token as a Bearer header."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {access_token}"
        self.service = zeep.Client(wsdl, transport=Transport(session=session)).service
        self.database = database

    def _database_id(self) -> int:
        found = self.service.Account_database(parameters={"identifier": self.database})
        return found.database.id

    def upsert_customer(self, customer_id: str, email: str, city: str) -> None:
        """Create the customer's profile, or update the one with that customer id."""
        self.service.Database_updateProfiles(parameters={
            "id": self._database_id(),
            "requirements": {"requirement": [{"fieldname": "customer_id",
                                              "value": customer_id, "operator": "="}]},
            "fields": {"pair": [{"key": "customer_id", "value": customer_id},
                                {"key": "email", "value": email},
                                {"key": "city", "value": city}]},
            "create": True})

    def customers_in(self, city: str) -> list[str]:
        """The customer ids of the profiles in ``city``, in id order."""
        found = self.service.Database_searchProfiles(parameters={
            "id": self._database_id(), "allproperties": True,
            "requirements": {"requirement": [{"fieldname": "city", "value": city,
                                              "operator": "="}]}})
        profiles = found.items.profile if found.items is not None else []
        return [next(p.value for p in profile.fields.pair if p.key == "customer_id")
                for profile in profiles]

"""The Copernica SOAP API operations the mock emulates, generated from one table.

A row names the operation, whether it writes (refused with a read-only token), its handler,
and the members it cannot do without besides ``id``. Its parameters are the catalogue's
(``catalogue.json``): each operation ``X`` takes one part ``parameters`` of type ``input_X``
(the catalogue's members, then ``access_token``) and answers ``result`` of type ``Result``;
the handler gets them as ``p``, with attributes named as the catalogue's members.
"""
from __future__ import annotations

import inspect

from dataclasses import dataclass
from typing import Callable

from spyne import ServiceBase, rpc

from mockserver.copernica import accounts
from mockserver.copernica import account_service as account
from mockserver.copernica import callback_service as callback
from mockserver.copernica import catalogue
from mockserver.copernica import collection_service as collection
from mockserver.copernica import contact_service as contact
from mockserver.copernica import database_service as database
from mockserver.copernica import field_service as field
from mockserver.copernica import profile_service as profile
from mockserver.copernica import types as t
from mockserver.copernica.values import Call


@dataclass
class Method:
    """One emulated operation of the table."""

    name: str
    write: bool
    handler: Callable
    needed: frozenset  # members that must be present
    doc: str


R, W = False, True
TABLE = [
    ("login", W, account.login, "username password"),
    ("Account_database", R, account.account_database, "identifier"),
    ("Account_databases", R, account.account_databases),
    ("Account_createDatabase", W, account.account_create_database, "name"),
    ("Account_callback", R, callback.account_callback, "identifier"),
    ("Account_retrieve", R, account.account_retrieve),
    ("Account_update", W, account.account_update),
    ("Account_remove", W, account.account_remove),
    ("Account_user", R, account.account_user, "identifier"),
    ("Account_createUser", W, account.account_create_user, "name password"),
    ("Account_views", R, account.account_views),
    ("User_retrieve", R, account.user_retrieve),
    ("User_account", R, account.user_account),
    ("User_update", W, account.user_update),
    ("User_setPassword", W, account.user_set_password, "password"),
    ("User_remove", W, account.user_remove),
    ("User_contacts", R, contact.user_contacts),
    ("Database_retrieve", R, database.database_retrieve),
    ("Database_update", W, database.database_update),
    ("Database_remove", W, database.database_remove),
    ("Database_clear", W, database.database_clear),
    ("Database_createField", W, database.database_create_field, "name"),
    ("Database_field", R, database.database_field, "identifier"),
    ("Database_fields", R, database.database_fields),
    ("Field_update", W, database.field_update),
    ("Field_retrieve", R, field.field_retrieve),
    ("Field_database", R, field.field_database),
    ("Field_remove", W, field.field_remove),
    ("Field_countIncompatibleProfiles", R, field.field_count_incompatible_profiles, "type"),
    ("Database_createInterest", W, database.database_create_interest, "name"),
    ("Database_interests", R, database.database_interests),
    ("Interest_retrieve", R, field.interest_retrieve),
    ("Interest_update", W, field.interest_update),
    ("Interest_remove", W, field.interest_remove),
    ("Interest_database", R, field.interest_database),
    ("Database_createCollection", W, database.database_create_collection, "name"),
    ("Database_collection", R, database.database_collection, "identifier"),
    ("Database_collections", R, database.database_collections),
    ("Database_createProfile", W, database.database_create_profile),
    ("Database_profile", R, database.database_profile, "identifier"),
    ("Database_profiles", R, database.database_profiles),
    ("Database_searchProfiles", R, database.database_search_profiles),
    ("Database_updateProfiles", W, database.database_update_profiles),
    ("Database_removeProfiles", W, database.database_remove_profiles),
    ("Database_unsubscribeValues", R, database.database_unsubscribe_values),
    ("Database_setUnsubscribeValues", W, database.database_set_unsubscribe_values),
    ("Database_contactTypes", R, contact.database_contact_types),
    ("Database_createContactType", W, contact.database_create_contact_type, "name"),
    ("Database_contactType", R, contact.database_contact_type, "identifier"),
    ("Database_contacts", R, contact.database_contacts),
    ("Database_searchContacts", R, contact.database_search_contacts),
    ("Database_views", R, database.database_views),
    ("Database_createCallback", W, callback.database_create_callback, "url"),
    ("Database_callback", R, callback.database_callback, "identifier"),
    ("Database_callbacks", R, callback.database_callbacks),
    ("Database_account", R, database.database_account),
    ("Database_database", R, database.database_database),
    ("Database_copy", W, database.database_copy),
    ("Database_countDistinctProfiles", R, database.database_count_distinct_profiles, "fields"),
    ("Database_distinctProfiles", R, database.database_distinct_profiles, "fields"),
    ("Database_displayedFields", R, database.database_displayed_fields),
    ("Database_interest", R, database.database_interest, "identifier"),
    ("Database_orderedField", R, database.database_ordered_field),
    ("Database_specialContentField", R, database.database_special_content_field),
    ("Database_specialTypeField", R, database.database_special_type_field),
    ("Database_rebuild", W, database.database_rebuild),
    ("Database_applyUnsubscribeBehavior", W, database.database_apply_unsubscribe_behavior),
    ("Database_allViews", R, database.database_all_views),
    ("Database_view", R, database.database_view, "identifier"),
    ("Collection_retrieve", R, collection.collection_retrieve),
    ("Collection_createField", W, collection.collection_create_field, "name"),
    ("Collection_field", R, collection.collection_field, "identifier"),
    ("Collection_fields", R, collection.collection_fields),
    ("CollectionField_update", W, collection.collection_field_update),
    ("CollectionField_retrieve", R, field.collection_field_retrieve),
    ("CollectionField_collection", R, field.collection_field_collection),
    ("CollectionField_remove", W, field.collection_field_remove),
    ("CollectionField_countIncompatibleSubProfiles", R,
     field.collection_field_count_incompatible_sub_profiles, "type"),
    ("Collection_subProfile", R, collection.collection_sub_profile, "identifier"),
    ("Collection_subProfiles", R, collection.collection_sub_profiles),
    ("Collection_searchSubProfiles", R, collection.collection_search_sub_profiles),
    ("Collection_updateSubProfiles", W, collection.collection_update_sub_profiles),
    ("Collection_removeSubProfiles", W, collection.collection_remove_sub_profiles),
    ("Collection_remove", W, collection.collection_remove),
    ("Collection_createCallback", W, callback.collection_create_callback, "url"),
    ("Collection_callback", R, callback.collection_callback, "identifier"),
    ("Collection_callbacks", R, callback.collection_callbacks),
    ("Collection_update", W, collection.collection_update),
    ("Collection_database", R, collection.collection_database),
    ("Collection_collection", R, collection.collection_collection),
    ("Collection_countDistinctSubProfiles", R, collection.collection_count_distinct_sub_profiles,
     "fields"),
    ("Collection_distinctSubProfiles", R, collection.collection_distinct_sub_profiles, "fields"),
    ("Collection_displayedFields", R, collection.collection_displayed_fields),
    ("Collection_orderedField", R, collection.collection_ordered_field),
    ("Collection_specialContentField", R, collection.collection_special_content_field),
    ("Collection_specialTypeField", R, collection.collection_special_type_field),
    ("Collection_unsubscribeValues", R, collection.collection_unsubscribe_values),
    ("Collection_setUnsubscribeValues", W, collection.collection_set_unsubscribe_values),
    ("Collection_unsubscribe", W, collection.collection_unsubscribe, "subprofile"),
    ("Collection_applyUnsubscribeBehavior", W, collection.collection_apply_unsubscribe_behavior),
    ("Collection_rebuild", W, collection.collection_rebuild),
    ("Collection_miniViews", R, collection.collection_mini_views),
    ("Collection_miniView", R, collection.collection_mini_view, "identifier"),
    ("Profile_retrieve", R, profile.profile_retrieve),
    ("Profile_update", W, profile.profile_update),
    ("Profile_database", R, profile.profile_database),
    ("Profile_field", R, profile.profile_field, "identifier"),
    ("Profile_interest", R, profile.profile_interest, "identifier"),
    ("Profile_subProfile", R, profile.profile_sub_profile, "identifier"),
    ("Profile_displayedFields", R, profile.profile_displayed_fields),
    ("Profile_unsubscribe", W, profile.profile_unsubscribe),
    ("Profile_rebuild", W, profile.profile_rebuild),
    ("Profile_views", R, profile.profile_views),
    ("Profile_checkEmailAddress", W, profile.profile_check_email_address),
    ("Profile_emailAddressValid", R, profile.profile_email_address_valid),
    ("Profile_updateFields", W, profile.profile_update_fields),
    ("Profile_remove", W, profile.profile_remove),
    ("Profile_fields", R, profile.profile_fields),
    ("Profile_interests", R, profile.profile_interests),
    ("Profile_updateInterests", W, profile.profile_update_interests),
    ("Profile_setInterest", W, profile.profile_set_interest, "interest"),
    ("Profile_move", W, profile.profile_move, "profile"),
    ("Profile_createSubProfile", W, profile.profile_create_sub_profile, "collection"),
    ("Profile_searchSubProfiles", R, profile.profile_search_sub_profiles),
    ("Profile_updateSubProfiles", W, profile.profile_update_sub_profiles, "collection"),
    ("Profile_subProfiles", R, profile.profile_sub_profiles),
    ("SubProfile_retrieve", R, profile.subprofile_retrieve),
    ("SubProfile_update", W, profile.subprofile_update),
    ("SubProfile_collection", R, profile.subprofile_collection),
    ("SubProfile_profile", R, profile.subprofile_profile),
    ("SubProfile_field", R, profile.subprofile_field, "identifier"),
    ("SubProfile_fields", R, profile.subprofile_fields),
    ("SubProfile_displayedFields", R, profile.subprofile_displayed_fields),
    ("SubProfile_move", W, profile.subprofile_move, "subprofile"),
    ("SubProfile_unsubscribe", W, profile.subprofile_unsubscribe),
    ("SubProfile_rebuild", W, profile.subprofile_rebuild),
    ("SubProfile_miniViews", R, profile.subprofile_mini_views),
    ("SubProfile_checkEmailAddress", W, profile.subprofile_check_email_address),
    ("SubProfile_emailAddressValid", R, profile.subprofile_email_address_valid),
    ("Profile_createContact", W, contact.profile_create_contact),
    ("Profile_contacts", R, contact.profile_contacts),
    ("Profile_searchContacts", R, contact.profile_search_contacts),
    ("SubProfile_updateFields", W, profile.subprofile_update_fields),
    ("SubProfile_remove", W, profile.subprofile_remove),
    ("SubProfile_moveToProfile", W, profile.subprofile_move_to_profile, "profile"),
    ("Callback_retrieve", R, callback.callback_retrieve),
    ("Callback_update", W, callback.callback_update),
    ("Callback_source", R, callback.callback_source),
    ("Callback_remove", W, callback.callback_remove),
    ("Callback_database", R, callback.callback_database),
    ("Callback_collection", R, callback.callback_collection),
    ("Callback_setSource", W, callback.callback_set_source),
    ("ContactType_retrieve", R, contact.contact_type_retrieve),
    ("ContactType_update", W, contact.contact_type_update),
    ("ContactType_remove", W, contact.contact_type_remove),
    ("Contact_retrieve", R, contact.contact_retrieve),
    ("Contact_update", W, contact.contact_update),
    ("Contact_remove", W, contact.contact_remove),
    ("Contact_profile", R, contact.contact_profile),
    ("Contact_type", R, contact.contact_type),
    ("Contact_setType", W, contact.contact_set_type, "contacttype"),
    ("Contact_user", R, contact.contact_user),
    ("Contact_setUser", W, contact.contact_set_user, "user"),
]


def _method(name: str, write: bool, handler: Callable, needed: str = "") -> Method:
    members = {m for m, _ in catalogue.input_members(name)}
    wanted = frozenset(needed.split()) | ({"id"} & members)
    assert wanted <= members, (name, wanted - members)
    # cleaned as Python 3.13 does on its own, so the WSDL is the same on every version
    return Method(name, write, handler, wanted, inspect.cleandoc(handler.__doc__ or name))


METHODS = {row[0]: _method(*row) for row in TABLE}


def login_data(login) -> tuple[str, str, str | None] | None:
    """The ``login`` parameter (``Login {username, account, password}``) as (username,
    password, account); None when absent or empty (as generated clients send it unset)."""
    if login is None or not any((login.username, login.password, login.account)):
        return None
    return login.username or "", login.password or "", login.account


def _serve(ctx, method: Method, parameters) -> t.Result:
    soap = ctx.udc
    account_id = None
    if method.name != "login":
        environ = soap.environ
        access = accounts.resolve(
            soap.store, authorization=environ.get("HTTP_AUTHORIZATION"),
            access_token=getattr(parameters, "access_token", None),
            cookie_header=environ.get("HTTP_COOKIE"), caller=soap.caller, write=method.write,
            login=login_data(getattr(parameters, "login", None)))
        account_id = soap.tenant = access.account_id
    return method.handler(Call(soap.store, account_id, soap), parameters)


def _operation(method: Method):
    def operation(ctx, parameters):
        return _serve(ctx, method, parameters)

    operation.__name__ = method.name
    operation.__doc__ = method.doc
    return rpc(t.required(t.input_type(method.name, method.needed)),
               _returns=t.required(t.Result), _out_variable_name="result")(operation)


POM_SOAP_API = type("POM_SOAP_API", (ServiceBase,), {
    "__doc__": "The Copernica SOAP API (POM SOAP API).",
    **{name: _operation(m) for name, m in METHODS.items()}})

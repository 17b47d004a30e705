"""Copernica's queries of accounts, users, tokens, sessions, databases, fields, interests,
collections, profiles, subprofiles and contacts; each takes the store first."""
from __future__ import annotations

import json

from mockserver.copernica.schema import ID_TABLES
from mockserver.store.rows import query_row, query_rows, sql_value


def account(store, account_id: int) -> dict | None:
    """A Copernica account, or None."""
    return query_row(store.conn, "SELECT * FROM accounts WHERE id=?", [account_id])


def account_ids(store) -> set[int]:
    """The ids of every Copernica account."""
    return {r[0] for r in store.conn.execute("SELECT id FROM accounts")}


def user(store, username: str) -> dict | None:
    """A Copernica user by name (case-insensitive), or None."""
    return query_row(store.conn, "SELECT * FROM users WHERE username=?", [username])


def user_account_ids(store, username: str) -> list[int]:
    """The ids of a user's accounts, first account first."""
    return [r[0] for r in store.conn.execute(
        "SELECT account_id FROM user_accounts WHERE username=? ORDER BY position", [username])]


def access_token(store, token: str) -> dict | None:
    """An access token row (allowed IPs decoded), or None."""
    row = query_row(store.conn, "SELECT * FROM access_tokens WHERE token=?", [token])
    if row:
        row["allowed_ips"] = json.loads(row["allowed_ips"])
    return row


def login_session(store, cookie: str) -> dict | None:
    """A login session by its cookie value, or None."""
    return query_row(store.conn, "SELECT * FROM sessions WHERE cookie=?", [cookie])


def databases_of(store, account_id: int) -> list[dict]:
    """An account's databases, by id."""
    return list(query_rows(store.conn, "SELECT * FROM databases WHERE account_id=? ORDER BY id",
                       [account_id]))


def database(store, account_id: int, database_id: int) -> dict | None:
    """A database of the account, or None."""
    return query_row(store.conn, "SELECT * FROM databases WHERE account_id=? AND id=?",
                [account_id, database_id])


def database_by_name(store, account_id: int, name: str) -> dict | None:
    """A database of the account by name (case-insensitive), or None."""
    return query_row(store.conn, "SELECT * FROM databases WHERE account_id=? AND "
                "name=? COLLATE NOCASE", [account_id, name])


def count_profiles(store, database_id: int) -> int:
    """How many profiles a database holds."""
    return store.conn.execute("SELECT COUNT(*) FROM profiles WHERE database_id=?",
                             [database_id]).fetchone()[0]


def count_subprofiles(store, collection_id: int) -> int:
    """How many subprofiles a collection holds."""
    return store.conn.execute("SELECT COUNT(*) FROM subprofiles WHERE collection_id=?",
                             [collection_id]).fetchone()[0]


def collections_of(store, database_id: int) -> list[dict]:
    """A database's collections, by id."""
    return list(query_rows(store.conn, "SELECT * FROM collections WHERE database_id=? ORDER BY id",
                       [database_id]))


def collection(store, account_id: int, collection_id: int) -> dict | None:
    """A collection of one of the account's databases, or None."""
    return query_row(store.conn, "SELECT c.* FROM collections c JOIN databases d ON "
                "d.id=c.database_id WHERE d.account_id=? AND c.id=?",
                [account_id, collection_id])


def fields_of(store, database_id: int, collection_id: int | None) -> list[dict]:
    """The fields of a database (collection None) or of one of its collections, by id."""
    if collection_id is None:
        return list(query_rows(store.conn, "SELECT * FROM database_fields WHERE database_id=? "
                           "AND collection_id IS NULL ORDER BY id", [database_id]))
    return list(query_rows(store.conn, "SELECT * FROM database_fields WHERE database_id=? AND "
                       "collection_id=? ORDER BY id", [database_id, collection_id]))


def database_field(store, account_id: int, field_id: int) -> dict | None:
    """A field (of a database or one of its collections) of the account, or None."""
    return query_row(store.conn, "SELECT f.* FROM database_fields f JOIN databases d ON "
                "d.id=f.database_id WHERE d.account_id=? AND f.id=?", [account_id, field_id])


def account_user(store, account_id: int, user_id: int) -> dict | None:
    """A user of the account by its number (the row's position in ``users``), or None."""
    return query_row(store.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                "user_accounts a ON a.username=u.username WHERE a.account_id=? AND "
                "u.rowid=?", [account_id, user_id])


def interest(store, account_id: int, interest_id: int) -> dict | None:
    """An interest of one of the account's databases, or None."""
    return query_row(store.conn, "SELECT i.* FROM interests i JOIN databases d ON "
                "d.id=i.database_id WHERE d.account_id=? AND i.id=?",
                [account_id, interest_id])


def account_user_by_name(store, account_id: int, username: str) -> dict | None:
    """A user of the account by name (case-insensitive), or None."""
    return query_row(store.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                "user_accounts a ON a.username=u.username WHERE a.account_id=? AND "
                "u.username=?", [account_id, username])


def account_users(store, account_id: int) -> list[dict]:
    """The users of an account (with their number as ``id``), in the account's order."""
    return list(query_rows(store.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                       "user_accounts a ON a.username=u.username WHERE a.account_id=? "
                       "ORDER BY a.position", [account_id]))


def account_by_name(store, name: str) -> dict | None:
    """An account by name (case-insensitive), or None."""
    return query_row(store.conn, "SELECT * FROM accounts WHERE name=? COLLATE NOCASE", [name])


def set_account(store, account_id: int, name: str, properties: dict) -> None:
    """Set an account's name and properties (the members of ``Account`` that are set)."""
    store.conn.execute("UPDATE accounts SET name=?, properties=? WHERE id=?",
                      [name, json.dumps(properties, ensure_ascii=False), account_id])


def add_user(store, account_id: int, username: str, password: str, properties: dict) -> int:
    """Create a user of the account (its last); the user's number."""
    user_id = store.insert_row("users", {"username": username, "password": password,
                                        "properties": properties})
    position = store.conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM "
                                 "user_accounts WHERE account_id=?", [account_id]).fetchone()
    store.insert_row("user_accounts", {"username": username, "account_id": account_id,
                                      "position": position[0]})
    return user_id


def set_user(store, username: str, changes: dict) -> None:
    """Set a user's ``password`` and/or ``properties`` (the members of ``User`` set)."""
    names = list(changes)
    store.conn.execute("UPDATE users SET " + ", ".join(f"{n}=?" for n in names) +
                      " WHERE username=?", [*(sql_value(changes[n]) for n in names),
                                            username])


def rename_user(store, old: str, new: str) -> None:
    """Give a user another name; its accounts, sessions and contacts follow (call inside
    a transaction: the foreign keys are checked when it commits)."""
    conn = store.conn
    conn.execute("PRAGMA defer_foreign_keys=ON")
    conn.execute("UPDATE users SET username=? WHERE username=?", [new, old])
    for table in ("user_accounts", "sessions"):
        conn.execute(f"UPDATE {table} SET username=? WHERE username=?", [new, old])


def leave_account(store, account_id: int, username: str) -> None:
    """Take a user out of an account (its sessions there end); a user left without an
    account is deleted (its contacts keep no user)."""
    conn = store.conn
    conn.execute("DELETE FROM user_accounts WHERE account_id=? AND username=?",
                 [account_id, username])
    conn.execute("DELETE FROM sessions WHERE account_id=? AND username=?",
                 [account_id, username])
    if not user_account_ids(store, username):
        conn.execute("DELETE FROM users WHERE username=?", [username])


def contact_types_of(store, database_id: int) -> list[dict]:
    """A database's contact types, by id."""
    return list(query_rows(store.conn, "SELECT * FROM contact_types WHERE database_id=? "
                       "ORDER BY id", [database_id]))


def contact_type(store, account_id: int, type_id: int) -> dict | None:
    """A contact type of one of the account's databases, or None."""
    return query_row(store.conn, "SELECT t.* FROM contact_types t JOIN databases d ON "
                "d.id=t.database_id WHERE d.account_id=? AND t.id=?", [account_id, type_id])


def contact_type_by_name(store, database_id: int, name: str) -> dict | None:
    """A contact type of the database by name (case-insensitive), or None."""
    return query_row(store.conn, "SELECT * FROM contact_types WHERE database_id=? AND "
                "name=? COLLATE NOCASE", [database_id, name])


def contact(store, account_id: int, contact_id: int) -> dict | None:
    """A contact of a profile of the account (with ``database_id``), or None."""
    return query_row(store.conn, "SELECT c.*, p.database_id FROM contacts c JOIN profiles p ON "
                "p.id=c.profile_id JOIN databases d ON d.id=p.database_id "
                "WHERE d.account_id=? AND c.id=?", [account_id, contact_id])


def contacts_of(store, account_id: int, database_id: int | None = None,
                profile_id: int | None = None, username: str | None = None) -> list[dict]:
    """The contacts of the account's profiles (with ``database_id``), of one database,
    profile and/or user, by id."""
    where, args = ["d.account_id=?"], [account_id]
    for column, value in (("p.database_id", database_id), ("c.profile_id", profile_id),
                          ("c.username", username)):
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)
    return list(query_rows(store.conn, "SELECT c.*, p.database_id FROM contacts c JOIN "
                       "profiles p ON p.id=c.profile_id JOIN databases d ON "
                       "d.id=p.database_id WHERE " + " AND ".join(where) +
                       " ORDER BY c.id", args))


def move_contacts(store, profile_id: int, target_id: int) -> None:
    """Give a profile's contacts to another profile."""
    store.conn.execute("UPDATE contacts SET profile_id=? WHERE profile_id=?",
                      [target_id, profile_id])


def interests_of(store, database_id: int) -> list[dict]:
    """A database's interests, by id."""
    return list(query_rows(store.conn, "SELECT * FROM interests WHERE database_id=? ORDER BY id",
                       [database_id]))


def profiles_of(store, database_id: int, equal: tuple = ()) -> list[dict]:
    """Every profile of a database (fields and interests as JSON text), by id; with
    ``equal`` ((field name, printable-ASCII value, case-sensitive), ...), only those that may
    hold each value in that field (see ``_may_equal``)."""
    sql, args = "SELECT * FROM profiles WHERE database_id=?", [database_id]
    for name, value, casesensitive in equal:
        path = f'$."{name}"'
        sql += " AND " + _may_equal(casesensitive)
        args += [path, path, path, value]
    return list(query_rows(store.conn, sql + " ORDER BY id", args))


def _may_equal(casesensitive: bool) -> str:
    """SQL that is false only where a stored field cannot equal the value as a search's
    ``=`` compares (``profile_search``: text case-folded unless case-sensitive). It leaves
    in whatever SQL cannot judge as Python does: a missing field (its default applies), a
    value that is no JSON string, and one with any character outside printable ASCII (under
    case-folding, ``ß`` equals ``SS``). For printable ASCII, SQLite's ``lower`` is Python's
    ``casefold``."""
    same = "json_extract(fields, ?) = ?" if casesensitive else \
        "lower(json_extract(fields, ?)) = lower(?)"
    return (f"(json_type(fields, ?) IS NOT 'text' OR json_extract(fields, ?) GLOB "
            f"'*[^ -~]*' OR {same})")


def profiles_page(store, database_id: int, offset: int, limit: int) -> list[dict]:
    """One page of a database's profiles (fields and interests as JSON text), by id."""
    return list(query_rows(store.conn, "SELECT * FROM profiles WHERE database_id=? ORDER BY id "
                       "LIMIT ? OFFSET ?", [database_id, limit, offset]))


def subprofiles_page(store, collection_id: int, offset: int, limit: int) -> list[dict]:
    """One page of a collection's subprofiles (fields as JSON text), by id."""
    return list(query_rows(store.conn, "SELECT * FROM subprofiles WHERE collection_id=? "
                       "ORDER BY id LIMIT ? OFFSET ?", [collection_id, limit, offset]))


def profile(store, account_id: int, profile_id: int) -> dict | None:
    """A profile of one of the account's databases (JSON text columns), or None."""
    return query_row(store.conn, "SELECT p.* FROM profiles p JOIN databases d ON "
                "d.id=p.database_id WHERE d.account_id=? AND p.id=?", [account_id, profile_id])


def subprofiles_of(store, collection_id: int | None = None,
                   profile_id: int | None = None) -> list[dict]:
    """The subprofiles of a collection and/or a profile (JSON text fields), by id."""
    where, args = [], []
    if collection_id is not None:
        where.append("collection_id=?")
        args.append(collection_id)
    if profile_id is not None:
        where.append("profile_id=?")
        args.append(profile_id)
    return list(query_rows(store.conn, "SELECT * FROM subprofiles WHERE " + " AND ".join(where) +
                       " ORDER BY id", args))


def record_with_code(store, table: str, owner_id: int, code: str) -> int | None:
    """The id of the profile of a database (``profiles``) or subprofile of a collection
    (``subprofiles``) with this code, or None."""
    owner = {"profiles": "database_id", "subprofiles": "collection_id"}[table]
    row = store.conn.execute(f"SELECT id FROM {table} WHERE {owner}=? AND code=? LIMIT 1",
                            [owner_id, code]).fetchone()
    return None if row is None else row[0]


def subprofile(store, account_id: int, subprofile_id: int) -> dict | None:
    """A subprofile in one of the account's databases (with ``database_id``), or None."""
    return query_row(store.conn, "SELECT s.*, c.database_id FROM subprofiles s JOIN collections c "
                "ON c.id=s.collection_id JOIN databases d ON d.id=c.database_id "
                "WHERE d.account_id=? AND s.id=?", [account_id, subprofile_id])


def delete_account(store, account_id: int, username: str | None = None) -> None:
    """Delete a Copernica account with all its data, its users who belong to no other
    account, and the user ``username`` (call inside a transaction)."""
    conn = store.conn
    members = [r["username"] for r in account_users(store, account_id)]
    conn.execute("DELETE FROM callback_deliveries WHERE account_id=?", [account_id])
    conn.execute("DELETE FROM accounts WHERE id=?", [account_id])
    for name in members:
        if not user_account_ids(store, name):
            conn.execute("DELETE FROM users WHERE username=?", [name])
    if username:
        conn.execute("DELETE FROM users WHERE username=?", [username])


def profile_count(store) -> int:
    """How many profiles the store holds (of every account)."""
    return store.conn.execute("SELECT count(*) FROM profiles").fetchone()[0]


def max_account_id(store) -> int:
    """The highest account id in use (0 when there is none)."""
    return store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM accounts").fetchone()[0]


def max_copernica_ids(store) -> dict[str, int]:
    """The highest id in use in each Copernica table with generated ids (0 when empty)."""
    return store.highest_ids((*ID_TABLES, "callbacks"))

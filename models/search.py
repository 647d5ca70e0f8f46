"""Search tokens of clients (S-11): the words, phone digits, requisites and e-mail
parts a client is found by, one row each, so that a search is an index range scan
(``token >= prefix AND token < prefix_next``) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ClientSearchToken(Model):
    """A word a client is found by (folded, at most 64 characters), and the client name
    beside it: a word shared by thousands of clients gives its first ten by name from
    the index alone (S-11, issue 19)."""

    id = fields.BigIntField(primary_key=True)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="search_tokens", on_delete=fields.CASCADE)
    # no index of its own: (token, ...) below serves every lookup by token, and a second
    # index cost each of the ~25 rows a client writes a B-tree insert more (issue 19)
    token = fields.CharField(max_length=64)
    # client.name when the tokens were written (they are rewritten with every change
    # of the card): the order search results come in
    client_name = fields.CharField(max_length=300, default="")

    class Meta:
        table = "client_search_token"
        # (token, client_name, client_id): a token's clients in name order, and the
        # search range scan covering the client ids; (client_id): replacing the tokens
        # of one client. Not (client_id, token): with it PostgreSQL sorted a million
        # clients to probe each for a common word when a list is filtered by a query.
        indexes = (("token", "client_name", "client_id"), ("client_id",))


class SearchWord(Model):
    """Every distinct token once (S-11): a misspelt query word is ranked against the
    words sharing its first letters, read by an index range here rather than by a
    DISTINCT over every client's tokens. Words no client has any more do no harm (a
    candidate that finds nobody); nothing deletes them."""

    token = fields.CharField(max_length=64, primary_key=True)

    class Meta:
        table = "search_word"

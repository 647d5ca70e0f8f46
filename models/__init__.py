"""Tortoise models of Kontakt (app label ``kontakt``).

Later sections (clients, activities, deals, prices, settlements, analytics,
marketing) add their own modules here and are listed in ``__all__``; each
migration lives in ``models/migrations``.
"""

from models.auth import Invite, LoginToken, WebSession
from models.clients import (
    AuditLog,
    Client,
    ClientKind,
    ClientLink,
    ClientLinkKind,
    ClientList,
    ClientManager,
    ContactPerson,
    Document,
    LegalEntity,
)
from models.customization import (
    CardLayout,
    ClassifierKind,
    ClassifierNode,
    ClientClassification,
    CustomEntity,
    CustomField,
    CustomValue,
    FieldType,
    Segment,
    Setting,
)
from models.dictionaries import Dictionary, DictionaryItem
from models.search import ClientSearchToken
from models.staff import Department, Language, Position, Role, StaffStatus, User

__all__ = [
    "AuditLog",
    "CardLayout",
    "ClassifierKind",
    "ClassifierNode",
    "Client",
    "ClientClassification",
    "ClientKind",
    "ClientLink",
    "ClientLinkKind",
    "ClientList",
    "ClientSearchToken",
    "ClientManager",
    "ContactPerson",
    "CustomEntity",
    "CustomField",
    "CustomValue",
    "Dictionary",
    "DictionaryItem",
    "Document",
    "FieldType",
    "LegalEntity",
    "Segment",
    "Setting",
    "Department",
    "Invite",
    "Language",
    "LoginToken",
    "Position",
    "Role",
    "StaffStatus",
    "User",
    "WebSession",
]

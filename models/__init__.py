"""Tortoise models of Kontakt (app label ``kontakt``).

Later sections (clients, activities, deals, prices, settlements, analytics,
marketing) add their own modules here and are listed in ``__all__``; each
migration lives in ``models/migrations``.
"""

from models.auth import Invite, LoginToken, WebSession
from models.staff import Department, Language, Position, Role, StaffStatus, User

__all__ = [
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

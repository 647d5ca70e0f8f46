"""The company's settings of the due-date reminders (issue 14: K-6, M-6) and the seeded
client templates.

* Kept in the setting ``due_reminders``: ``before`` (days before the due date, chosen
  from :data:`BEFORE_CHOICES`), ``after`` (days after it, from :data:`AFTER_CHOICES`),
  ``clients`` (whether clients are reminded too) and the names of the two message
  templates, ``soon_template`` and ``overdue_template`` (services.messaging's templates:
  one name stands for its email and SMS versions in each language).
* Until an admin sets them: 3 days before, 1 and 7 days after, clients reminded, the
  seeded templates :data:`SOON` and :data:`OVERDUE` (email and SMS in ru, uk and en,
  made the first time they are needed, editable in the admin's template list).
* Besides the messaging variables (``client``, ``contact``, ``sender``) the templates
  have ``invoice`` (number, amount, due, days_overdue) and ``company`` (our company's
  name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError

from models import Setting, User
from models.messaging import Channel, MessageTemplate
from services.errors import N_, ValidationFailed
from services.permissions import require_admin

KEY = "due_reminders"
BEFORE_CHOICES = (1, 2, 3, 5, 7, 14)
AFTER_CHOICES = (1, 3, 7, 14, 30)
SOON = "Invoice due soon"
OVERDUE = "Invoice overdue"


@dataclass
class DueSettings:
    before: list[int] = field(default_factory=lambda: [3])
    after: list[int] = field(default_factory=lambda: [1, 7])
    clients: bool = True
    soon_template: str = SOON
    overdue_template: str = OVERDUE

    @property
    def offsets(self) -> list[int]:
        """Days from the due date, ascending: −3 is three days before."""
        return sorted({-d for d in self.before} | set(self.after))

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "clients": self.clients,
                "soon_template": self.soon_template,
                "overdue_template": self.overdue_template}


# the seeded templates: (subject, body) per language; SMS bodies are short
_EMAIL = {
    SOON: {
        "ru": ("Счёт {{ invoice.number }}: срок оплаты {{ invoice.due }}",
               "Здравствуйте, {{ client.name }}!\n\nНапоминаем, что {{ invoice.due }} "
               "наступает срок оплаты счёта {{ invoice.number }}. К оплате: "
               "{{ invoice.amount }}.\nЕсли счёт уже оплачен, просто не обращайте внимания "
               "на это письмо.\n\n{{ sender.full_name }}\n{{ company }}\n"),
        "uk": ("Рахунок {{ invoice.number }}: термін оплати {{ invoice.due }}",
               "Добрий день, {{ client.name }}!\n\nНагадуємо, що {{ invoice.due }} "
               "настає термін оплати рахунку {{ invoice.number }}. До сплати: "
               "{{ invoice.amount }}.\nЯкщо рахунок уже сплачено, просто не зважайте на "
               "цей лист.\n\n{{ sender.full_name }}\n{{ company }}\n"),
        "en": ("Invoice {{ invoice.number }}: due on {{ invoice.due }}",
               "Dear {{ client.name }},\n\nA friendly reminder that invoice "
               "{{ invoice.number }} is due on {{ invoice.due }}. Amount due: "
               "{{ invoice.amount }}.\nIf you have already paid it, please ignore this "
               "message.\n\n{{ sender.full_name }}\n{{ company }}\n"),
    },
    OVERDUE: {
        "ru": ("Счёт {{ invoice.number }} просрочен",
               "Здравствуйте, {{ client.name }}!\n\nСрок оплаты счёта {{ invoice.number }} "
               "истёк {{ invoice.due }} (просрочка {{ invoice.days_overdue }} дн.). "
               "Не оплачено: {{ invoice.amount }}.\nПожалуйста, оплатите счёт или "
               "ответьте на это письмо, если что-то не так.\n\n{{ sender.full_name }}\n"
               "{{ company }}\n"),
        "uk": ("Рахунок {{ invoice.number }} прострочено",
               "Добрий день, {{ client.name }}!\n\nТермін оплати рахунку "
               "{{ invoice.number }} минув {{ invoice.due }} (прострочення "
               "{{ invoice.days_overdue }} дн.). Не сплачено: {{ invoice.amount }}.\n"
               "Будь ласка, сплатіть рахунок або дайте відповідь на цей лист, якщо щось не "
               "так.\n\n{{ sender.full_name }}\n{{ company }}\n"),
        "en": ("Invoice {{ invoice.number }} is overdue",
               "Dear {{ client.name }},\n\nInvoice {{ invoice.number }} was due on "
               "{{ invoice.due }} ({{ invoice.days_overdue }} days overdue). Unpaid: "
               "{{ invoice.amount }}.\nPlease pay it, or reply to this message if something "
               "is wrong.\n\n{{ sender.full_name }}\n{{ company }}\n"),
    },
}
_SMS = {
    SOON: {"ru": "{{ company }}: счёт {{ invoice.number }} на {{ invoice.amount }} к оплате "
                 "до {{ invoice.due }}.",
           "uk": "{{ company }}: рахунок {{ invoice.number }} на {{ invoice.amount }} до "
                 "сплати до {{ invoice.due }}.",
           "en": "{{ company }}: invoice {{ invoice.number }}, {{ invoice.amount }}, is due "
                 "on {{ invoice.due }}."},
    OVERDUE: {"ru": "{{ company }}: счёт {{ invoice.number }} просрочен, не оплачено "
                    "{{ invoice.amount }}. Просим оплатить.",
              "uk": "{{ company }}: рахунок {{ invoice.number }} прострочено, не сплачено "
                    "{{ invoice.amount }}. Просимо сплатити.",
              "en": "{{ company }}: invoice {{ invoice.number }} is overdue, "
                    "{{ invoice.amount }} unpaid. Please pay."},
}


async def ensure_templates() -> None:
    """Make the seeded templates that are missing (an admin's edit is kept; one archived
    stays archived)."""
    have = set(await MessageTemplate.filter(name__in=[SOON, OVERDUE]).values_list(
        "name", "channel", "language"))
    for name in (SOON, OVERDUE):
        for lang in ("ru", "uk", "en"):
            subject, body = _EMAIL[name][lang]
            for channel, values in ((Channel.EMAIL, {"subject": subject, "body": body}),
                                    (Channel.SMS, {"body": _SMS[name][lang]})):
                if (name, str(channel), lang) in have or (name, channel, lang) in have:
                    continue
                try:
                    await MessageTemplate.create(name=name, channel=channel, language=lang,
                                                 **values)
                except IntegrityError:  # another replica made it meanwhile
                    pass


def _days(raw: Any, choices: tuple[int, ...], field_name: str) -> list[int]:
    if not isinstance(raw, list | tuple):
        raise ValidationFailed(field_name, N_("choose the days from the list"))
    out = set()
    for value in raw:
        if isinstance(value, bool) or value not in choices:
            raise ValidationFailed(field_name, N_("choose the days from the list"))
        out.add(int(value))
    return sorted(out)


async def _template_name(raw: Any, field_name: str) -> str:
    name = " ".join(str(raw or "").split())
    if not await MessageTemplate.filter(name=name, archived=False).exists():
        raise ValidationFailed(field_name, N_("no such template"))
    return name


async def due_settings() -> DueSettings:
    row = await Setting.get_or_none(key=KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    out = DueSettings()
    try:
        if "before" in value:
            out.before = _days(value["before"], BEFORE_CHOICES, "before")
        if "after" in value:
            out.after = _days(value["after"], AFTER_CHOICES, "after")
    except ValidationFailed:
        return DueSettings()
    out.clients = bool(value.get("clients", True))
    out.soon_template = str(value.get("soon_template") or SOON)
    out.overdue_template = str(value.get("overdue_template") or OVERDUE)
    return out


async def template_names() -> list[str]:
    """The names a reminder may use (each name once, however many versions it has)."""
    await ensure_templates()
    names = await MessageTemplate.filter(archived=False).distinct().values_list(
        "name", flat=True)
    return sorted(set(names))


async def do_set_due_settings(actor: User, data: dict[str, Any]) -> DueSettings:
    """Admins: the days, whether clients are reminded and the two templates."""
    require_admin(actor)
    await ensure_templates()
    current = await due_settings()
    out = DueSettings(
        before=_days(data.get("before", current.before), BEFORE_CHOICES, "before"),
        after=_days(data.get("after", current.after), AFTER_CHOICES, "after"),
        clients=bool(data.get("clients", current.clients)),
        soon_template=await _template_name(data.get("soon_template",
                                                    current.soon_template),
                                           "soon_template"),
        overdue_template=await _template_name(data.get("overdue_template",
                                                       current.overdue_template),
                                              "overdue_template"))
    await Setting.update_or_create(key=KEY, defaults={"value": out.as_dict()})
    return out

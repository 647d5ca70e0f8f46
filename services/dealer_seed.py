"""The demo's typical dealer scenario (M-7): the partner process "Работа с дилером"
(managed: its open stages make tasks with reminders), seeded once by name."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models import (
    ActivityType,
    Playbook,
    PlaybookStep,
    ProcessKind,
    ProcessMode,
    ProcessType,
    Stage,
    StageKind,
    User,
)

NAME = "Работа с дилером"
STAGES = [  # name, kind, probability, the playbook's steps (title, offset days)
    ("Подключение дилера", StageKind.OPEN, 30,
     [("Подписать дилерский договор", 0), ("Передать прайс и материалы", 2)]),
    ("Обучение", StageKind.OPEN, 60, [("Провести обучение менеджеров дилера", 3)]),
    ("Первые продажи", StageKind.OPEN, 80, [("Созвониться о первых сделках", 7)]),
    ("Дилер работает", StageKind.WON, 100, []),
    ("Дилер ушёл", StageKind.LOST, 0, []),
]


async def seed_dealer_process(author: User | None = None) -> ProcessType:
    """The process, its three working stages (and the won and lost ends) with a playbook
    each; an existing one (by name) is returned as it is."""
    existing = await ProcessType.get_or_none(name=NAME)
    if existing is not None:
        return existing
    task = await ActivityType.filter(code="task").first() or await ActivityType.first()
    async with in_transaction():
        process = await ProcessType.create(name=NAME, kind=ProcessKind.PARTNER,
                                           mode=ProcessMode.MANAGED, sort_order=50)
        for position, (name, kind, probability, steps) in enumerate(STAGES):
            playbook = None
            if steps and task is not None:
                playbook = await Playbook.create(name=f"{NAME}: {name}"[:200],
                                                 created_by=author)
                for n, (title, offset) in enumerate(steps):
                    await PlaybookStep.create(playbook=playbook, position=n, type=task,
                                              offset_days=offset, title=title)
            await Stage.create(process=process, name=name, kind=kind, position=position,
                               probability=probability, playbook=playbook)
    return process

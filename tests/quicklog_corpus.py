"""Reading a quick-log corpus (M-3): the files' format is that of
tests/data/quicklog-sample.tsv (its header says it); each line is checked for the
client, what was done (or that nothing was: a message that only plans), the
follow-up's type, date and a word of its title. Used by tests/test_quicklog_corpus.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=MOSCOW)
CLIENTS = [
    ({"name": "ООО «Ромашка»"}, [{"last_name": "Петров", "first_name": "Иван",
                                  "middle_name": "Сергеевич"}]),
    ({"name": "ИП Сидоров", "kind": "individual", "last_name": "Сидоров",
      "first_name": "Алексей", "middle_name": "Петрович"}, []),
    ({"name": "АО «Вектор»"}, [{"last_name": "Смирнова", "first_name": "Ольга",
                                "middle_name": "Викторовна"}]),
    ({"name": "ТОВ «Соняшник»"}, [{"last_name": "Коваленко", "first_name": "Андрій",
                                   "middle_name": "Іванович"}]),
    ({"name": "Northwind LLC"}, [{"last_name": "Smith", "first_name": "John"}]),
    # only in the project's own corpus
    ({"name": "ООО «Строймаркет»"}, [{"last_name": "Волков", "first_name": "Дмитрий"}]),
    ({"name": "ТОВ «Барвінок»"}, [{"last_name": "Мельник", "first_name": "Тарас"}]),
    ({"name": "Acme Corp"}, [{"last_name": "Gibbons", "first_name": "Peter"}]),
]


@dataclass
class Line:
    text: str
    language: str
    client: str
    done: str
    next: str
    next_at: str
    title: str


def read(path: Path) -> list[Line]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#") or raw.startswith("text\t"):
            continue
        lines.append(Line(*raw.split("\t")[:7]))
    return lines


async def seed(actor) -> None:
    from services import clients as svc
    from services import contacts as contacts_svc

    for data, contacts in CLIENTS:
        client = (await svc.do_create_client(actor, data)).client
        for contact in contacts:
            await contacts_svc.do_add_contact(actor, client.id, contact)


def wrong(line: Line, p) -> list[str]:
    """What the proposal ``p`` got wrong about ``line`` (empty: read right)."""
    out = []
    if p.client is None or line.client.lower() not in p.client.name.lower():
        out.append(f"client {p.client.name if p.client else [c.name for c in p.clients]}")
    done = p.type_code if getattr(p, "done", True) else None
    if line.done == "-":
        if done is not None:
            out.append(f"done {done}, expected only a plan")
    elif line.done != "*" and done not in line.done.split("|"):
        out.append(f"done {done}")
    f = p.follow_up
    if line.next == "-":
        if f is not None:
            out.append(f"follow-up {f.type_code}, expected none")
        return out
    if f is None:
        return out + ["no follow-up"]
    if f.type_code not in line.next.split("|"):
        out.append(f"next {f.type_code}")
    if line.next_at == "?":
        if f.starts_at is not None:
            out.append("a date where none was said")
    else:
        local = f.starts_at.astimezone(MOSCOW) if f.starts_at else None
        shown = local.strftime("%Y-%m-%d %H:%M") if local else None
        if shown is None or not (shown == line.next_at or (
                len(line.next_at) == 10 and shown.startswith(line.next_at))):
            out.append(f"next_at {shown}")
    if line.title != "-" and line.title.lower() not in f.title.lower():
        out.append(f"title {f.title!r}")
    return out

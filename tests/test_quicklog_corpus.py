"""M-3 measured: the share of field notes the quick log reads right (client, done or
only planned, the follow-up's type, date and title), on the sample of the product's
field notes and on the project's own corpus in ru, uk and en."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Role, User
from services.quicklog import propose
from tests.quicklog_corpus import NOW, read, seed, wrong

DATA = Path(__file__).parent / "data"
CORPORA = ["quicklog-sample.tsv", "quicklog-corpus-ru.tsv", "quicklog-corpus-uk.tsv",
           "quicklog-corpus-en.tsv"]
AIM = 0.95


@pytest.mark.parametrize("name", CORPORA)
async def test_field_notes_read_right(database_url, name):
    actor = await User.create(full_name="Manager", telegram_id=11, role=Role.MANAGER,
                              timezone="Europe/Moscow")
    await seed(actor)
    lines = read(DATA / name)
    failures = []
    for line in lines:
        p = await propose(actor, line.text, language=line.language,
                          timezone="Europe/Moscow", now=NOW)
        if problems := wrong(line, p):
            failures.append(f"{line.text!r}: {'; '.join(problems)}")
    share = 1 - len(failures) / len(lines)
    print(f"{name}: {len(lines) - len(failures)}/{len(lines)} = {share:.1%}", *failures,
          sep="\n  ")
    assert share >= AIM, "\n".join(failures)

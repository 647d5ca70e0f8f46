"""S-11 at scale (issue 19): a word shared by many clients gives its first ten by name
from the token index (token, client_name, client_id), one short list per token merged,
and the answer is the same as sorting every match: for an admin, a manager (A-3), the
archived filter, several words, a typo, a renamed card and a prefix starting too many
distinct words (searched the other way)."""

from __future__ import annotations

import pytest

from models import Client, ClientManager, ClientSearchToken, Role, User
from services import client_archive, client_search
from services import clients as svc

NAMES = ([f"Северный ветер {i:02d}" for i in range(8)]
         + [f"Северная звезда {i:02d}" for i in range(8)]
         + [f"Северо-Запад {i:02d}" for i in range(6)]
         + [f"Sever Trade {i:02d}" for i in range(4)]
         + ["Южный порт", "Восток"])


@pytest.fixture
async def people(database_url):
    return {
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "ivan": await User.create(full_name="Ivan", telegram_id=3),
        "olena": await User.create(full_name="Olena", telegram_id=4),
    }


@pytest.fixture
async def clients(people):
    made = []
    for i, name in enumerate(NAMES):  # Ivan gets every fifth card, Olena the rest
        owner = people["ivan"] if i % 5 == 0 else people["olena"]
        made.append((await svc.do_create_client(owner, {"name": name})).client)
    return made


async def everything_sorted(actor, query: str, *, archived: bool = False, limit=10):
    """What search must answer: every match of the exact filter, sorted in SQL."""
    qs = client_search.search_filter(await svc.visible_clients(actor, archived=archived), query)
    return [c.name for c in await qs.order_by("name", "id").limit(limit)]


async def names(actor, query: str, **kw) -> list[str]:
    return [c.name for c in await client_search.search_clients(actor, query, **kw)]


async def test_tokens_carry_the_client_name_and_follow_a_rename(people, clients):
    card = clients[0]
    assert set(await ClientSearchToken.filter(client_id=card.id).values_list(
        "client_name", flat=True)) == {card.name}
    await svc.do_update_client(people["admin"], card.id, {"name": "Аа Северный маяк"})
    assert set(await ClientSearchToken.filter(client_id=card.id).values_list(
        "client_name", flat=True)) == {"Аа Северный маяк"}
    # the renamed card now comes before every Cyrillic «Север…» (Latin sorts first)
    found = await names(people["admin"], "север")
    assert found == await everything_sorted(people["admin"], "север")
    assert [n for n in found if not n.startswith("Sever")][0] == "Аа Северный маяк"


async def test_a_common_word_gives_the_first_ten_by_name(people, clients):
    admin = people["admin"]
    for query in ("север", "СЕВЕР", "sever", "северн"):
        found = await names(admin, query)
        assert len(found) == 10
        assert found == await everything_sorted(admin, query), query
    assert await names(admin, "север", limit=30) == await everything_sorted(
        admin, "север", limit=30)
    assert await names(admin, "юж") == ["Южный порт"]
    assert await names(admin, "запад") == await everything_sorted(admin, "запад")
    assert await names(admin, "нет такого") == []


async def test_a_manager_finds_only_own_clients(people, clients):
    ivan = people["ivan"]
    found = await names(ivan, "север")
    assert found == await everything_sorted(ivan, "север")
    mine = set(await Client.filter(id__in=await ClientManager.filter(
        user_id=ivan.id, unassigned_at=None).values_list("client_id", flat=True)
    ).values_list("name", flat=True))
    assert found and set(found) <= mine
    assert await names(ivan, "юж") == []  # Olena's


async def test_archived_cards_only_with_the_archived_filter(people, clients):
    admin = people["admin"]
    first = (await names(admin, "север"))[0]
    card = next(c for c in clients if c.name == first)
    await client_archive.do_archive_client(admin, card.id, reason="тест")
    assert first not in await names(admin, "север")
    assert await names(admin, "север") == await everything_sorted(admin, "север")
    assert await names(admin, "север", archived=True) == [first]


async def test_several_words_and_a_typo(people, clients):
    admin = people["admin"]
    assert await names(admin, "север запад") == [f"Северо-Запад {i:02d}" for i in range(6)]
    assert await names(admin, "звезда север 03") == ["Северная звезда 03"]
    # a typo in a common word: the clients of the words most like it, first ten by name
    found = await names(admin, "сивеоный")
    assert found and found == sorted(found) and len(found) <= 10
    assert all(n.startswith("Северный") for n in found)


async def test_words_of_digits_alone_are_found_in_the_tokens_not_the_vocabulary(
        people, clients):
    """A word of digits alone (a house number, part of a phone or a tax code) is not in
    ``search_word`` (half its writes in an import, issue 19): it is matched in the
    tokens, sorted by name, alone or beside other words, and has no typo search."""
    from models import SearchWord

    admin = people["admin"]
    await svc.do_create_client(admin, {"name": "Магазин 24", "phone": "+7 906 790-99-50"})
    await svc.do_create_client(admin, {"name": "Аптека 24"})
    assert await SearchWord.filter(token="магазин").exists()
    assert not await SearchWord.filter(token__in=["24", "03", "79067909950"]).exists()
    assert await names(admin, "24") == ["Аптека 24", "Магазин 24"]
    assert await names(admin, "7906") == ["Магазин 24"]  # too short to be a phone query
    found = await names(admin, "03")
    assert len(found) == 4 and found == await everything_sorted(admin, "03")
    assert await names(admin, "магаз 24") == ["Магазин 24"]
    assert await names(admin, "9067909950") == ["Магазин 24"]
    assert await names(admin, "Аптк 123456") == []  # no typo search for digits
    assert await names(admin, "12345678") == []


async def test_a_prefix_of_many_distinct_words_is_searched_the_other_way(people):
    admin = people["admin"]
    for i in range(client_search._TOKENS_BY_NAME + 5):  # noqa: SLF001
        await svc.do_create_client(admin, {"name": f"Квант{i:02d} Плюс"})
    found = await names(admin, "квант")
    assert len(found) == 10 and found == await everything_sorted(admin, "квант")


async def test_a_heads_search_works_out_their_departments_once(people, clients):
    """The clients a head sees (their departments', A-3) are worked out once per search,
    for the exact filter and the index walk alike, and give the same answer as sorting
    every match."""
    from models import Department
    from tests.querycount import counted

    hq = await Department.create(name="HQ")
    sales = await Department.create(name="Sales", parent=hq)
    head = await User.create(full_name="Head", telegram_id=7, role=Role.HEAD, department=hq)
    await User.filter(id=people["ivan"].id).update(department_id=sales.id)
    with counted() as q:
        found = await names(head, "север")
    assert found == await everything_sorted(head, "север") != []
    walks = [s for s in q.statements if 'FROM "department"' in s]
    assert len(walks) == 2  # HQ's children, then Sales' (none): one walk, not two

"""Client search (S-11) through ``services.client_search.search_clients`` over 100,000
clients with a legal entity and a contact person each (20,000 with --quick), as an
admin, on SQLite and (with --postgres) on a scratch PostgreSQL database.

The clients are written with ``bulk_create`` (their search text and search tokens
computed by the same pure helpers, services.derived, as the importer uses), then 300
searches run one after another: a fragment of a name, a phone as people type it,
an INN/EDRPOU, and a name with a
typo, 75 of each, shuffled. The floor is a bare ``SELECT id FROM client WHERE id=?``
in the same run. The plans of a common word's queries (and of sorting every match, the old
way) are printed to stderr and kept in the JSON.

    python -m bench.client_search [--quick] [--postgres URL [--trgm]] [--clients N]
                                  [--postgres-only] [--keep-db NAME]

On PostgreSQL the rows go in with ``COPY`` (a million clients: ``--clients 1000000
--postgres URL --postgres-only``, minutes, not hours). With ``--keep-db NAME`` the
clients go into the database NAME and stay there: a second run with the same NAME and
``--clients`` searches them again without loading (``"reused_database": true``).

Last line: {"p50_ms", "p95_ms" (the worse backend), "sqlite": {...},
"postgres": {...} | null, "baseline_ms", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

from bench.client_import import ADJECTIVES, FIRST, LAST, NOUNS, RU_CODES, UA_CODES, edrpou, inn10
from bench.common import emit, pct, rss_mb, scratch_postgres

SEARCHES = 300
BATCH = 5000



def client_data(i: int, rnd: random.Random) -> dict:
    ua = i % 4 == 3
    adj, noun = rnd.choice(ADJECTIVES), rnd.choice(NOUNS)
    sub = f"{(i * 7919) % 10_000_000:07d}"
    if ua:
        phone = f"+380{UA_CODES[i % len(UA_CODES)]}{sub}"
        contact_phone = f"+380{UA_CODES[(i + 3) % len(UA_CODES)]}{sub}"
    else:
        phone = f"+7{RU_CODES[i % len(RU_CODES)]}{sub}"
        contact_phone = f"+7{RU_CODES[(i + 5) % len(RU_CODES)]}{sub}"
    return {
        "name": f"{'ТОВ' if ua else 'ООО'} «{adj} {noun} {i}»", "noun": noun, "adj": adj,
        "phone": phone, "email": f"office{i}@example.{'ua' if ua else 'ru'}",
        "country": "UA" if ua else "RU",
        "inn": None if ua else inn10(i), "edrpou": edrpou(i) if ua else None,
        "first": rnd.choice(FIRST), "last": rnd.choice(LAST), "contact_phone": contact_phone,
    }


def derived(cid: int, d: dict) -> tuple:
    """What the importer derives from a client's data (services.derived): the contact's
    phone digits, the client's phone digits, search text, completeness and its search
    tokens as (client id, token) rows."""
    from services.clients import DEFAULT_WEIGHTS
    from services.derived import derived_fields, search_tokens
    from services.text import digits

    legal = {"name": d["name"], "inn": d["inn"], "edrpou": d["edrpou"], "ipn": None}
    cpd = digits(d["contact_phone"])
    phone_digits, search_text, score = derived_fields(
        name=d["name"], short_name=None, email=d["email"], phone=d["phone"], street=None,
        city_id=None, contacts=[(d["last"], d["first"], cpd)], legal=[legal],
        weights=DEFAULT_WEIGHTS)
    tokens = [(cid, t) for t in search_tokens(search_text=search_text, phone=d["phone"],
                                               legal=[legal], contacts=[(cpd, [])])]
    return cpd, phone_digits, search_text, score, tokens


CLIENT_COLS = ("id", "kind", "list_type", "is_group", "name", "phone", "phone_digits",
               "email", "country", "completeness", "search_text", "do_not_contact",
               "email_consent", "sms_consent", "created_at", "updated_at")
LEGAL_COLS = ("id", "client_id", "name", "inn", "edrpou", "country", "is_primary",
              "created_at", "updated_at")
CONTACT_COLS = ("id", "client_id", "first_name", "last_name", "phones", "emails",
                "messengers", "phone_digits", "search_text", "created_at", "updated_at")
MANAGER_COLS = ("id", "client_id", "user_id", "is_primary", "assigned_at")


async def populate(n: int, manager_ids: list[int]) -> None:
    """The clients as the importer writes them; on PostgreSQL with ``COPY`` (a million
    clients in minutes), elsewhere with ``bulk_create``."""
    from tortoise import connections

    if connections.get("default").capabilities.dialect == "postgres":
        await populate_copy(n, manager_ids)
        return
    await populate_orm(n, manager_ids)


async def populate_copy(n: int, manager_ids: list[int]) -> None:
    """The same rows as :func:`populate_orm`, written with ``COPY`` (PostgreSQL)."""
    import json

    from tortoise.transactions import in_transaction

    from bench.analytics_data import insert_rows
    from services.clients import save_tokens
    from services.clock import utcnow
    from services.text import search_blob

    rnd = random.Random(7)
    now = utcnow()
    batch = 20_000
    for start in range(0, n, batch):
        clients, legals, contacts, managers, tokens = [], [], [], [], []
        for i in range(start, min(n, start + batch)):
            d = client_data(i, rnd)
            cid = i + 1
            cpd, phone_digits, search_text, score, found_by = derived(cid, d)
            clients.append((cid, "company", "partner", False, d["name"], d["phone"],
                            phone_digits, d["email"], d["country"], score, search_text,
                            False, True, True, now, now))
            tokens.extend(found_by)
            legals.append((cid, cid, d["name"], d["inn"], d["edrpou"], d["country"], True,
                           now, now))
            contacts.append((cid, cid, d["first"], d["last"],
                             json.dumps([d["contact_phone"]]), "[]", "{}", cpd,
                             search_blob(d["first"], d["last"]), now, now))
            managers.append((cid, cid, manager_ids[i % len(manager_ids)], True, now))
        async with in_transaction() as conn:
            await insert_rows("client", CLIENT_COLS, clients)
            await insert_rows("legal_entity", LEGAL_COLS, legals)
            await insert_rows("contact_person", CONTACT_COLS, contacts)
            await insert_rows("client_manager", MANAGER_COLS, managers)
            await save_tokens(tokens, using_db=conn)
        if start and start % 200_000 == 0:
            sys.stderr.write(f"  {start:,} clients written\n")
    from bench.analytics_data import fix_sequences

    await fix_sequences(("client", "legal_entity", "contact_person", "client_manager"))


async def populate_orm(n: int, manager_ids: list[int]) -> None:
    from tortoise.transactions import in_transaction

    from models import Client, ClientManager, ContactPerson, LegalEntity
    from services.clients import save_tokens
    from services.clock import utcnow
    from services.text import search_blob

    rnd = random.Random(7)
    now = utcnow()
    for start in range(0, n, BATCH):
        clients, legals, contacts, managers, tokens = [], [], [], [], []
        for i in range(start, min(n, start + BATCH)):
            d = client_data(i, rnd)
            cid = i + 1
            cpd, phone_digits, search_text, score, found_by = derived(cid, d)
            clients.append(Client(
                id=cid, name=d["name"], phone=d["phone"], phone_digits=phone_digits,
                email=d["email"], country=d["country"], search_text=search_text,
                completeness=score, created_at=now, updated_at=now))
            tokens.extend(found_by)
            legals.append(LegalEntity(client_id=cid, name=d["name"], inn=d["inn"],
                                      edrpou=d["edrpou"], country=d["country"],
                                      is_primary=True, created_at=now, updated_at=now))
            contacts.append(ContactPerson(
                client_id=cid, first_name=d["first"], last_name=d["last"],
                phones=[d["contact_phone"]], emails=[], messengers={}, phone_digits=cpd,
                search_text=search_blob(d["first"], d["last"]), created_at=now,
                updated_at=now))
            managers.append(ClientManager(client_id=cid, user_id=manager_ids[i % len(
                manager_ids)], is_primary=True, assigned_at=now))
        async with in_transaction() as conn:
            await Client.bulk_create(clients, using_db=conn)
            await LegalEntity.bulk_create(legals, using_db=conn)
            await ContactPerson.bulk_create(contacts, using_db=conn)
            await ClientManager.bulk_create(managers, using_db=conn)
            await save_tokens(tokens, using_db=conn)


def typo(word: str, rnd: random.Random) -> str:
    """One letter of the word changed (not the first), as people mistype."""
    word = word.lower()
    i = rnd.randrange(1, len(word) - 1)
    vowels = "аоеиуя"
    ch = word[i]
    repl = rnd.choice([v for v in vowels if v != ch]) if ch in vowels else rnd.choice("кнтр")
    return word[:i] + repl + word[i + 1:]


def make_queries(n: int) -> list[tuple[str, str]]:
    rnd = random.Random(11)
    data_rnd = random.Random(7)
    sample_ids = sorted(rnd.sample(range(n), 150))
    wanted = set(sample_ids)
    # replay the generator to know what the sampled clients look like
    ds = [d for i in range(max(sample_ids) + 1)
          if (d := client_data(i, data_rnd)) and i in wanted]
    queries: list[tuple[str, str]] = []
    for k in range(SEARCHES // 4):
        d = ds[k % len(ds)]
        word = rnd.choice([d["noun"], d["adj"]])
        queries.append(("name", word.lower()[:rnd.randint(4, 6)]))
        p = d["phone"]
        if p.startswith("+7"):  # the ways people type a Russian number
            code, sub = p[2:5], p[5:]
            written = [f"8 {code} {sub[:3]}-{sub[3:5]}-{sub[5:]}", f"+7 {code} {sub}",
                       f"8{code}{sub}", f"8 ({code}) {sub[:3]}-{sub[3:5]}-{sub[5:]}"][k % 4]
        else:
            written = [f"0{p[4:6]} {p[6:9]} {p[9:]}", f"+380 {p[4:6]} {p[6:]}"][k % 2]
        queries.append(("phone", written))
        queries.append(("inn", d["inn"] or d["edrpou"]))
        queries.append(("typo", typo(d["noun"] if len(d["noun"]) >= 5 else d["adj"], rnd)))
    rnd.shuffle(queries)
    return queries


async def explain(qs_sql: str, dialect: str) -> list[str]:
    from tortoise import connections

    conn = connections.get("default")
    if dialect == "sqlite":
        rows = await conn.execute_query_dict(f"EXPLAIN QUERY PLAN {qs_sql}")
        return [r["detail"] for r in rows]
    rows = await conn.execute_query_dict(f"EXPLAIN ANALYZE {qs_sql}")
    return [next(iter(r.values())) for r in rows]


async def run_backend(url: str, backend: str, n: int, trgm: bool = False) -> dict:
    from tortoise import connections

    from kontakt import db as kdb
    from models import Client, Role, User
    from services.client_search import _prefix_next, search_clients
    from services.text import translit

    await kdb.init_db(url)
    await kdb.migrate(url)
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    admin = await User.get_or_none(telegram_id=1)
    loaded = admin is not None and await Client.all().count() == n
    load_s = None
    if not loaded:  # a fresh database (or a kept one holding another number of clients)
        if admin is not None:
            raise SystemExit("the kept database holds another number of clients: drop it")
        admin = await User.create(telegram_id=1, full_name="Bench Admin", role=Role.ADMIN)
        managers = [await User.create(telegram_id=100 + k, full_name=f"Manager {k}")
                    for k in range(20)]
        t0 = time.perf_counter()
        await populate(n, [m.id for m in managers])
        load_s = round(time.perf_counter() - t0, 1)
    if dialect == "postgres":
        if trgm:  # what-if: the index suggested for PostgreSQL (not in the migrations)
            await conn.execute_script(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX client_search_trgm "
                "ON client USING gin (search_text gin_trgm_ops);")
        await conn.execute_script(
            "SELECT setval(pg_get_serial_sequence('client', 'id'), "
            "(SELECT MAX(id) FROM client)); ANALYZE;")
        # what autovacuum does to a loaded table in production: the visibility map lets
        # the typo query's range over the token index skip the table (index-only scan)
        await conn.execute_script("VACUUM ANALYZE client_search_token")
    else:
        await conn.execute_script("ANALYZE;")

    queries = make_queries(n)
    for _, q in queries[:20]:  # warm-up
        await search_clients(admin, q)
    times: dict[str, list[float]] = {}
    found: dict[str, int] = {}
    misses: dict[str, list[str]] = {}
    for kind, q in queries:
        t = time.perf_counter()
        result = await search_clients(admin, q)
        times.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        found[kind] = found.get(kind, 0) + bool(result)
        if not result:
            misses.setdefault(kind, []).append(q)
    everything = [t for ts in times.values() for t in ts]

    placeholder = "?" if dialect == "sqlite" else "$1"
    rnd = random.Random(3)
    base = []
    for _ in range(SEARCHES):
        t = time.perf_counter()
        await conn.execute_query(f"SELECT id FROM client WHERE id={placeholder}",
                                 [rnd.randint(1, n)])
        base.append((time.perf_counter() - t) * 1000)

    # where the time goes: the plans of a common word's two queries as search_clients
    # makes them (the tokens the word starts, then one token's first clients by name),
    # and the old shape (every match sorted by name) for comparison
    w = "север"
    ranges = " OR ".join(f"(token >= '{p}' AND token < '{_prefix_next(p)}')"
                         for p in (w, translit(w)))
    words_sql = f'SELECT "token" FROM "search_word" WHERE {ranges} LIMIT 21'
    token = (await conn.execute_query_dict(words_sql))[0]["token"]
    by_name_sql = ('SELECT "t"."client_name", "t"."client_id" FROM "client_search_token" "t" '
                   'JOIN "client" "c" ON "c"."id" = "t"."client_id" '
                   f"WHERE \"t\".\"token\" = '{token}' AND \"c\".\"archived_at\" IS NULL "
                   'ORDER BY "t"."client_name", "t"."client_id" LIMIT 10')
    all_sorted_sql = (f'SELECT "id", "name" FROM "client" WHERE "archived_at" IS NULL AND '
                      f'"id" IN (SELECT "client_id" FROM "client_search_token" WHERE {ranges}) '
                      f'ORDER BY "name", "id" LIMIT 10')
    plans = {"words": await explain(words_sql, dialect),
             "by_name": await explain(by_name_sql, dialect),
             "every_match_sorted": await explain(all_sorted_sql, dialect)}
    for key, sql in (("by_name", by_name_sql), ("every_match_sorted", all_sorted_sql)):
        sys.stderr.write(f"[{backend}] {sql}\n" + "\n".join(plans[key]) + "\n")
    await kdb.close_db()
    return {
        "clients": n, "searches": len(queries), "load_s": load_s,
        "reused_database": loaded,
        "p50_ms": round(statistics.median(everything), 2),
        "p95_ms": round(pct(everything, 95), 2),
        "max_ms": round(max(everything), 2),
        "by_kind": {k: {"p50_ms": round(statistics.median(v), 2),
                        "p95_ms": round(pct(v, 95), 2),
                        "found": f"{found[k]}/{len(v)}"} for k, v in sorted(times.items())},
        "baseline_ms": round(statistics.median(base), 3),
        "plan_words_query": plans["words"],
        "plan_name_query": plans["by_name"],
        "plan_every_match_sorted": plans["every_match_sorted"],
        "misses": {k: v[:5] for k, v in misses.items()},
    }


@asynccontextmanager
async def kept_postgres(server_url: str, name: str):
    """The database ``name`` on the server, made when missing and kept afterwards: a
    million clients are loaded once and searched again by later runs."""
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    parts = urlsplit(server_url.replace("postgres://", "postgresql://", 1))
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield urlunsplit(parts._replace(path=f"/{name}", scheme="postgres"))


async def main(quick: bool, postgres: str | None, trgm: bool = False,
               clients: int | None = None, postgres_only: bool = False,
               keep_db: str | None = None) -> None:
    n = clients or (20_000 if quick else 100_000)
    tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-"))
    sqlite = None if postgres_only and postgres else await run_backend(
        f"sqlite://{tmp / 'bench.sqlite3'}", "sqlite", n)
    pg = None
    if postgres:
        where = kept_postgres(postgres, keep_db) if keep_db else scratch_postgres(postgres)
        async with where as url:
            pg = await run_backend(url, "postgres", n)
    pg_trgm = None
    if postgres and trgm:
        async with scratch_postgres(postgres) as url:
            pg_trgm = await run_backend(url, "postgres+trgm", n, trgm=True)
    worse = max((b for b in (sqlite, pg) if b), key=lambda b: b["p95_ms"])
    # ratio: the floor's time over the search's p95 (higher is better; 1 would be a
    # search as fast as reading one row by its key)
    emit({
        "benchmark": "client_search",
        "clients": n,
        "p50_ms": worse["p50_ms"], "p95_ms": worse["p95_ms"],
        "baseline_ms": worse["baseline_ms"],
        "ratio": round(worse["baseline_ms"] / worse["p95_ms"], 4) if worse["p95_ms"] else None,
        "ratio_is": "baseline_ms / p95_ms, higher is better",
        "aim_p95_ms": 50, "ok": worse["p95_ms"] < 50,
        "rss_mb": round(rss_mb(), 1),
        "sqlite": sqlite, "postgres": pg,
        **({"postgres_with_trgm_index": pg_trgm} if pg_trgm else {}),
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", help="also run on a scratch database of this "
                        "PostgreSQL server")
    parser.add_argument("--trgm", action="store_true", help="with --postgres: also measure "
                        "with a pg_trgm GIN index on client.search_text (a what-if)")
    parser.add_argument("--clients", type=int, help="how many clients (default 100,000; "
                        "issue 19 runs 1,000,000 with --postgres-only)")
    parser.add_argument("--postgres-only", action="store_true",
                        help="with --postgres: leave SQLite out")
    parser.add_argument("--keep-db", metavar="NAME",
                        help="with --postgres: load the clients into the database NAME "
                        "on that server and keep it; a later run with the same NAME and "
                        "--clients searches it again without loading")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.postgres, args.trgm, args.clients, args.postgres_only,
                     args.keep_db))

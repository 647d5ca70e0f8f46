"""Import of a 50,000-row XLSX of clients (10,000 with --quick) through
``services.importer.run_import`` on a fresh SQLite database, against the floor of
just reading the same rows with the import's own reader (services.tabular: a streaming
expat reader of the sheet since issue 19) in the same run, and beside it the rows read
with openpyxl's read-only mode (what the import used before); on SQLite and (with
--postgres) on a scratch PostgreSQL database, the median of ``--runs`` (3) runs each.

The file has realistic Russian and Ukrainian data: company names, INNs and EDRPOUs
with correct check digits, KPPs, phones written in several ways, e-mails, addresses,
a contact person per company; about 1 % of the rows are bad (wrong INN check digit,
not a phone, no name) and about 1 % duplicate an earlier row's INN or phone.

The file is generated in a child process, so this process's peak RSS is only what
reading and importing cost.

    python -m bench.client_import [--quick] [--postgres URL] [--runs 3]

With ``BENCH_PROFILE=1`` each import runs under cProfile (the event loop's thread; the
costliest calls to stderr, ``BENCH_SORT=cumulative`` to sort otherwise).

Last line: {"import_s", "rows", "created", "errors", "rss_mb", "rss_before_mb",
"baseline_s", "ratio" (baseline_s / import_s: higher is better), "import_cpu_s",
"baseline_cpu_s", "ratio_cpu", "baseline_openpyxl_s", "baseline_openpyxl_cpu_s",
"ratio_openpyxl", ...} of the worse backend (the lower ratio), and each
backend's figures under "sqlite" and "postgres". CPU seconds are this process's (all
its threads; not the PostgreSQL server's): on a busy machine they vary less than the
wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import emit, rss_mb

HEADERS = ["Название", "Тип", "Телефон", "Email", "Сайт", "Страна", "Улица", "Дом", "Офис",
           "Индекс", "ИНН", "КПП", "ЕГРПОУ", "Имя", "Фамилия", "Телефон контакта",
           "Должность", "Примечание"]

ADJECTIVES = ["Северный", "Южный", "Восточный", "Западный", "Центральный", "Первый",
              "Новый", "Большой", "Зелёный", "Золотой", "Красный", "Белый", "Быстрый",
              "Надёжный", "Главный", "Русский", "Сибирский", "Уральский", "Волжский",
              "Донской", "Киевский", "Днепровский", "Одесский", "Харьковский", "Львовский",
              "Морской", "Лесной", "Горный", "Степной", "Речной"]
NOUNS = ["Альянс", "Ветер", "Горизонт", "Дом", "Завод", "Импульс", "Капитал", "Ключ",
         "Комбинат", "Континент", "Маяк", "Мост", "Партнёр", "Поток", "Проект", "Ресурс",
         "Рубеж", "Сервис", "Союз", "Стандарт", "Строй", "Терминал", "Торг", "Транзит",
         "Трейд", "Узел", "Фрегат", "Холдинг", "Центр", "Элемент", "Ромашка", "Василёк",
         "Берёзка", "Колос", "Сокол", "Орион", "Вектор", "Гранит", "Кедр", "Полюс"]
FIRST = ["Иван", "Пётр", "Алексей", "Сергей", "Андрей", "Дмитрий", "Ольга", "Анна",
         "Елена", "Мария", "Наталья", "Татьяна", "Олена", "Тарас", "Богдан", "Оксана",
         "Юлия", "Максим", "Николай", "Ирина"]
LAST = ["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Соколов",
        "Лебедев", "Козлов", "Новиков", "Морозов", "Шевченко", "Коваленко", "Бондаренко",
        "Ткаченко", "Кравченко", "Олийнык", "Мельник", "Волков", "Зайцев"]
POSITIONS = ["директор", "главный бухгалтер", "менеджер по закупкам", "коммерческий директор",
             "снабженец", "юрист", None]
STREETS = ["ул. Ленина", "пр. Мира", "ул. Садовая", "ул. Шевченко", "вул. Хрещатик",
           "ул. Гагарина", "наб. Реки Мойки", "ул. Советская", "бул. Леси Украинки"]
RU_CODES = [903, 905, 906, 909, 910, 915, 916, 917, 925, 926, 977, 985]
UA_CODES = [50, 66, 67, 68, 73, 93, 95, 96, 97, 98, 99]
TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "e", "'": ""})


def inn10(n: int) -> str:
    """A valid 10-digit INN of an organisation from a serial number."""
    base = f"{77 + n % 20:02d}{n % 10_000_000:07d}"
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    return base + str(sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11 % 10)


def edrpou(n: int) -> str:
    """A valid 8-digit EDRPOU from a serial number (the two-pass checksum)."""
    base = f"{2 + n % 3}{n % 1_000_000:06d}"
    code = int(base + "0")
    weights = [7, 1, 2, 3, 4, 5, 6] if 30_000_000 < code < 60_000_000 else [1, 2, 3, 4, 5, 6, 7]
    check = sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11
    if check == 10:
        check = sum(int(d) * (w + 2) for d, w in zip(base, weights, strict=True)) % 11
    return base + str(check % 10)


def ru_phone(n: int, style: int) -> str:
    code, sub = RU_CODES[n % len(RU_CODES)], f"{n % 10_000_000:07d}"
    return [f"+7 {code} {sub}", f"8 ({code}) {sub[:3]}-{sub[3:5]}-{sub[5:]}",
            f"+7{code}{sub}", f"7-{code}-{sub[:3]}-{sub[3:]}"][style % 4]


def ua_phone(n: int, style: int) -> str:
    code, sub = UA_CODES[n % len(UA_CODES)], f"{n % 10_000_000:07d}"
    return [f"+380 {code} {sub}", f"0{code} {sub[:3]} {sub[3:5]} {sub[5:]}",
            f"+380{code}{sub}"][style % 3]


def make_rows(n: int, seed: int = 42):
    """Yield (row, kind) with kind "good" | "bad" | "duplicate"."""
    rnd = random.Random(seed)
    earlier: list[list] = []
    for i in range(n):
        roll = rnd.random()
        if roll < 0.01 and earlier:  # a duplicate of an earlier row's INN / EDRPOU / phone
            row = list(rnd.choice(earlier))
            row[0] = row[0] + " (дубль)"
            if rnd.random() < 0.5:  # only the phone repeats
                row[3], row[10], row[11], row[12] = None, None, None, None
            yield row, "duplicate"
            continue
        ua = i % 4 == 3
        adj, noun = rnd.choice(ADJECTIVES), rnd.choice(NOUNS)
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        form = ("ТОВ" if ua else rnd.choice(["ООО", "АО", "ЗАО"]))
        name = f"{form} «{adj} {noun}-{i}»"
        domain = f"{noun.lower().translate(TRANSLIT)}{i}.{'ua' if ua else 'ru'}"
        row = [
            name, "компания", ua_phone(i, i) if ua else ru_phone(i, i), f"info@{domain}",
            f"https://{domain}", "UA" if ua else "RU", rnd.choice(STREETS),
            str(rnd.randint(1, 200)),
            str(rnd.randint(1, 500)) if rnd.random() < 0.5 else None,
            f"{rnd.randint(10000, 99999)}" if ua else f"{rnd.randint(100000, 199999)}",
            None if ua else inn10(i), None if ua else f"{inn10(i)[:4]}01001",
            edrpou(i) if ua else None, first, last,
            ua_phone(i + 5_000_000, i) if ua else ru_phone(i + 5_000_000, i),
            rnd.choice(POSITIONS), "импорт из старой CRM" if rnd.random() < 0.1 else None,
        ]
        if roll > 0.99:  # a bad row
            bad = rnd.randrange(3)
            if bad == 0 and not row[10]:
                bad = 1
            if bad == 0:
                row[10] = row[10][:-1] + str((int(row[10][-1]) + 1) % 10)
            elif bad == 1:
                row[2] = "позвонить позже"
            else:
                row[0] = None
            yield row, "bad"
            continue
        if len(earlier) < 2000:
            earlier.append(row)
        yield row, "good"


def generate(path: Path, n: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Клиенты")
    ws.append(HEADERS)
    for row, _ in make_rows(n):
        ws.append(row)
    wb.save(path)


def baseline(path: Path) -> tuple[float, int]:
    """Reading the rows with the import's reader, nothing else."""
    from services.tabular import Table

    t0 = time.perf_counter()
    with Table(path, path.name) as table:
        count = sum(1 for _ in table.rows()) - 1
    return time.perf_counter() - t0, count


def baseline_openpyxl(path: Path) -> tuple[float, int]:
    """Reading the rows with openpyxl's read-only mode, as the import did before."""
    from openpyxl import load_workbook

    t0 = time.perf_counter()
    wb = load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in wb.active.iter_rows(values_only=True)) - 1
    wb.close()
    return time.perf_counter() - t0, count


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except OSError:
        return 0.0


def main(quick: bool, postgres: str | None, runs: int) -> None:
    n = 10_000 if quick else 50_000
    tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-"))
    xlsx = tmp / "clients.xlsx"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.client_import", "--generate", str(xlsx),
                    "--rows", str(n)], check=True)
    generate_s = time.perf_counter() - t0
    asyncio.run(measure_all(n, tmp, xlsx, generate_s, xlsx.stat().st_size / 1024 / 1024,
                            postgres, runs))


async def measure_all(n: int, tmp: Path, xlsx: Path, generate_s: float, file_mb: float,
                      postgres: str | None, runs: int) -> None:
    """``runs`` imports per backend, each on a fresh database with the baseline read
    just before it; the medians per backend go to stderr and into the last line, whose
    top-level keys are the worse backend's (the lower ``ratio``)."""
    from bench.common import median, scratch_postgres

    expected = {"good": 0, "bad": 0, "duplicate": 0}
    for _, kind in make_rows(n):
        expected[kind] += 1
    per_backend: dict[str, dict] = {}
    backends = [("sqlite", None)] + ([("postgres", postgres)] if postgres else [])
    for backend, server in backends:
        results = []
        for i in range(runs):
            if server:
                async with scratch_postgres(server) as url:
                    results.append(await measure(url, xlsx))
            else:
                results.append(await measure(f"sqlite://{tmp / f'bench{i}.sqlite3'}", xlsx))
            sys.stderr.write(f"{backend} run {i + 1}: {json.dumps(results[-1])}\n")
        last = results[-1]
        med = {k: round(median([r[k] for r in results]), 2)
               for k in ("baseline_s", "import_s", "baseline_cpu_s", "import_cpu_s",
                         "baseline_openpyxl_s", "baseline_openpyxl_cpu_s")}
        per_backend[backend] = {
            "benchmark": "client_import", "backend": backend,
            "rows": last["rows"], "created": last["created"], "errors": last["errors"],
            "skipped_duplicates": last["skipped_duplicates"], "expected": expected,
            "clients_in_db": last["clients_in_db"], "progress_calls": last["progress_calls"],
            "file_mb": round(file_mb, 1), "generate_s": round(generate_s, 2), **med,
            "rows_per_s": round(last["rows"] / med["import_s"]) if med["import_s"] else None,
            # reading the file alone ÷ the import: higher is better (1 = the import costs
            # no more than reading the file)
            "ratio": round(med["baseline_s"] / med["import_s"], 3) if med["import_s"] else None,
            "ratio_cpu": round(med["baseline_cpu_s"] / med["import_cpu_s"], 3)
            if med["import_cpu_s"] else None,
            "ratio_is": "baseline_s / import_s, higher is better",
            # the same against openpyxl's reading of the file (the reader before issue 19)
            "ratio_openpyxl": round(med["baseline_openpyxl_s"] / med["import_s"], 3)
            if med["import_s"] else None,
            "runs": runs,
            "rss_before_mb": max(r["rss_before_mb"] for r in results),
            "rss_mb": max(r["rss_mb"] for r in results),
            "rss_now_mb": last["rss_now_mb"],
            "ok": all(r["ok"] for r in results) and all(
                r["created"] == expected["good"] for r in results),
        }
        sys.stderr.write(f"{backend}: {json.dumps(per_backend[backend])}\n")
    worse = min(per_backend.values(), key=lambda r: r["ratio"] or 0)
    emit({**worse, **{b: r for b, r in per_backend.items()},
          "ok": all(r["ok"] for r in per_backend.values())})


async def measure(url: str, xlsx: Path) -> dict:
    from kontakt import db as kdb
    from models import Client, Role, User
    from services.importer import guess_mapping, read_headers, run_import

    await kdb.init_db(url)
    await kdb.migrate(url)
    admin = await User.create(telegram_id=1, full_name="Bench Admin", role=Role.ADMIN)
    from services import bounded

    for ready in await asyncio.to_thread(bounded.start):  # as the service, once started
        await asyncio.wrap_future(ready)
    rss_before = rss_mb()
    cpu0 = time.process_time()
    baseline_s, rows = baseline(xlsx)
    baseline_cpu_s = time.process_time() - cpu0
    cpu0 = time.process_time()
    baseline_openpyxl_s, openpyxl_rows = baseline_openpyxl(xlsx)
    baseline_openpyxl_cpu_s = time.process_time() - cpu0
    assert openpyxl_rows == rows, (openpyxl_rows, rows)
    mapping = guess_mapping(read_headers(xlsx, xlsx.name))
    assert len(mapping) == len(HEADERS), mapping

    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1

    profiler = None
    if os.environ.get("BENCH_PROFILE"):  # the event loop's thread, costliest calls to stderr
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0 = time.process_time()  # this process's CPU, every thread (not PostgreSQL's)
    t0 = time.perf_counter()
    report = await run_import(admin, xlsx, xlsx.name, mapping, dry_run=False,
                              progress=progress)
    import_s = time.perf_counter() - t0
    import_cpu_s = time.process_time() - cpu0
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(
            os.environ.get("BENCH_SORT", "tottime")).print_stats(30)
    in_db = await Client.all().count()
    await kdb.close_db()
    return {
        "rows": report.rows_total, "created": report.created, "errors": report.bad_rows,
        "skipped_duplicates": report.skipped_duplicates, "clients_in_db": in_db,
        "progress_calls": calls, "baseline_s": baseline_s, "import_s": import_s,
        "baseline_cpu_s": baseline_cpu_s, "import_cpu_s": import_cpu_s,
        "baseline_openpyxl_s": baseline_openpyxl_s,
        "baseline_openpyxl_cpu_s": baseline_openpyxl_cpu_s,
        "rss_before_mb": round(rss_before, 1), "rss_mb": round(rss_mb(), 1),
        "rss_now_mb": round(current_rss_mb(), 1),
        "ok": import_s < 60 and rows == report.rows_total and in_db == report.created,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="also run on a scratch database "
                        "of this PostgreSQL server (created and dropped)")
    parser.add_argument("--runs", type=int, default=3, help="runs per backend (median)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=50_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate), args.rows)
    else:
        main(args.quick, args.postgres, args.runs)

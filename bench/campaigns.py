"""Campaign figures and web lead forms (issue 16: K-10, K-12) at size: 200 campaigns,
100,000 clients, 100,000 deals (20,000 each with --quick), their orders and the
attributions (bench.campaigns_data), on SQLite and (with --postgres) on a scratch
PostgreSQL database.

Measured:

* ``roi_report_p95_ms``: ``services.campaign_figures.roi_report(year)`` — every
  campaign running in a year with its costs, contacts, deals, revenue, margin and ROI —
  for each year of the data, over and over (p95 of 20 calls, after one warm-up).
* ``lead_form_p95_ms``: one submission of the public lead form (``POST /f/<token>``)
  through the service's own web app over real HTTP, a new visitor each time: the client
  found or made, the inbound request assigned by the round robin, the touch recorded,
  the thanks page rendered (and the Telegram announcement sent after the response to
  the Bot API emulator, in a process of its own). 200 in a row; the p95.
* ``leads_per_s``: 1,000 submissions (300 with --quick) fired 50 at a time.
* The baseline, the same way and in the same run: a bare aiohttp handler on its own
  server that reads the same form and answers a small page (``baseline_p95_ms``,
  ``baseline_per_s``). ``ratio`` = ``leads_per_s`` ÷ ``baseline_per_s`` (higher is
  better); ``ratio_p95`` = ``baseline_p95_ms`` ÷ ``lead_form_p95_ms`` (higher is better).

The rate limit of the lead form (5 a minute per address, a burst of 120 a form) would
refuse a benchmark's flood, which is what it is for: it is lifted for the timed runs
(the limiter's own cost, a dict lookup, stays), and one more flood from one address
checks that it still refuses (``flood_refused``) without a server error.

    python -m bench.campaigns [--quick] [--postgres URL]

Last line: {"roi_report_p95_ms", "lead_form_p95_ms", "leads_per_s", "baseline_p95_ms",
"baseline_per_s", "ratio", "ratio_p95", "flood_refused", "sqlite": {...},
"postgres": {...}|null} — the top-level figures are the worse backend's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.common import emit, emulator_process, free_port, pct, rss_mb, scratch_postgres

TOKEN = "5555555555:BenchTokenForKontakt"
SECRET = "bench-secret-key-0123456789abcdef0123456789"
CONCURRENCY = 50


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def visitor(i: int) -> dict[str, str]:
    return {"name": f"Посетитель {i}", "phone": f"+7 916 {i // 10000 % 1000:03d}-"
            f"{i // 100 % 100:02d}-{i % 100:02d}", "message": "Хочу узнать цену",
            "website": ""}


async def bare_server() -> tuple[web.AppRunner, str]:
    """The baseline: an aiohttp handler that reads the same form and answers a page."""
    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        name = str(form.get("name", ""))
        return web.Response(text=f"<html><body><p>Спасибо, {name}!</p></body></html>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_post("/f/{token}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def one_post(session: aiohttp.ClientSession, url: str, data: dict,
                   headers: dict | None = None) -> tuple[int, float, str]:
    t = time.perf_counter()
    async with session.post(url, data=data, headers=headers or {},
                            allow_redirects=False) as resp:
        body = await resp.text()
        return resp.status, (time.perf_counter() - t) * 1000, body


async def sequential(session, url: str, start: int, n: int) -> tuple[list[float], list[int]]:
    times, statuses = [], []
    for i in range(start, start + n):
        status, ms, _body = await one_post(session, url, visitor(i))
        times.append(ms)
        statuses.append(status)
    return times, statuses


async def burst(session, url: str, start: int, n: int) -> tuple[float, list[int]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    statuses: list[int] = []

    async def one(i: int) -> None:
        async with gate:
            status, _ms, _body = await one_post(session, url, visitor(i))
            statuses.append(status)

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(start, start + n)))
    return n / (time.perf_counter() - t), statuses


async def run_backend(url: str, backend: str, quick: bool) -> dict:
    from bench import campaigns_data as data
    from kontakt import db as kdb

    sizes = data.QUICK if quick else data.FULL
    await kdb.init_db(url)
    await kdb.migrate(url)
    t = time.perf_counter()
    made = await data.populate(sizes)
    load_s = time.perf_counter() - t
    log(f"[{backend}] data: {sizes} in {load_s:.1f} s")

    # the ROI report of each year
    from services.campaign_figures import roi_report

    years = made.years
    await roi_report(years[-1])  # warm-up
    roi_ms, rows = [], 0
    for k in range(20):
        t = time.perf_counter()
        got = await roi_report(years[k % len(years)])
        roi_ms.append((time.perf_counter() - t) * 1000)
        rows = max(rows, len(got))
    await kdb.close_db()

    # the lead form through the service's web app
    result = await lead_form_run(url, backend, quick, made)
    result.update({"backend": backend, "load_s": round(load_s, 1),
                   "roi_report_p95_ms": round(pct(roi_ms, 95), 1),
                   "roi_report_p50_ms": round(pct(roi_ms, 50), 1),
                   "roi_campaigns_per_year_max": rows})
    return result


async def lead_form_run(url: str, backend: str, quick: bool, made) -> dict:
    from kontakt.config import load_settings
    from kontakt.runtime import build_runtime, start, stop
    from models import Department
    from models.marketing import AssignMode, LeadForm
    from services import lead_intake

    first_tg, last_tg = 1000, 1000 + 1000 * 6
    with tempfile.TemporaryDirectory() as tmp:
        async with emulator_process(TOKEN, first_tg, last_tg) as api_url:
            port = free_port()
            settings = load_settings(
                bot_token=TOKEN, telegram_api_url=api_url, database_url=url,
                secret_key=SECRET, data_dir=tmp, http_host="127.0.0.1", http_port=port,
                default_language="ru", redis_url="", public_url=f"http://127.0.0.1:{port}")
            rt = await build_runtime(settings)
            await start(rt)
            log(f"[{backend}] the service answers on port {port}")
            base_runner, base_url = await bare_server()
            try:
                dept = await Department.all().order_by("id").first()
                first_variant = made.variants[made.campaigns[-1][0]][0]
                form = await LeadForm.create(
                    variant_id=first_variant, token="benchform0001", title="Заявка",
                    language="ru", department_id=dept.id,
                    assign_mode=AssignMode.ROUND_ROBIN,
                    fields_spec=[{"name": "name", "required": True},
                                 {"name": "phone", "required": True},
                                 {"name": "message", "required": False}])
                ours_url = f"http://127.0.0.1:{port}/f/{form.token}"
                bare_url = f"{base_url}/f/{form.token}"
                n_seq, n_burst = (100, 300) if quick else (200, 1000)
                lifted = (lead_intake.PER_ADDRESS, lead_intake.PER_FORM)
                lead_intake.PER_ADDRESS = lead_intake.TokenBucket(10 ** 9, 10 ** 9)
                lead_intake.PER_FORM = lead_intake.TokenBucket(10 ** 9, 10 ** 9)
                conn = aiohttp.TCPConnector(limit=CONCURRENCY)
                timeout = aiohttp.ClientTimeout(total=30)
                async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
                    status, _ms, body = await one_post(session, ours_url, visitor(999_999))
                    log(f"[{backend}] first submission: {status} {body[:200]!r}")
                    await sequential(session, ours_url, 900_000, 10)  # warm-up
                    await sequential(session, bare_url, 900_000, 10)
                    ours_ms, ours_st = await sequential(session, ours_url, 0, n_seq)
                    base_ms, _ = await sequential(session, bare_url, 0, n_seq)
                    ours_rate, burst_st = await burst(session, ours_url, 100_000, n_burst)
                    base_rate, _ = await burst(session, bare_url, 100_000, n_burst)
                    lead_intake.PER_ADDRESS, lead_intake.PER_FORM = lifted
                    lead_intake.PER_ADDRESS.reset()
                    lead_intake.PER_FORM.reset()
                    flood = [await one_post(session, ours_url, visitor(500_000 + i))
                             for i in range(20)]
                from models.marketing import LeadSubmission

                made_leads = await LeadSubmission.filter(form_id=form.id).count()
            finally:
                await base_runner.cleanup()
                await stop(rt)
    statuses = ours_st + burst_st
    flood_st = [s for s, _ms, _b in flood]
    return {
        "lead_form_p95_ms": round(pct(ours_ms, 95), 1),
        "lead_form_p50_ms": round(pct(ours_ms, 50), 1),
        "leads_per_s": round(ours_rate, 1),
        "baseline_p95_ms": round(pct(base_ms, 95), 1),
        "baseline_per_s": round(base_rate, 1),
        "ratio": round(ours_rate / base_rate, 3) if base_rate else None,
        "ratio_p95": round(pct(base_ms, 95) / pct(ours_ms, 95), 3) if ours_ms else None,
        "ratio_is": "ours ÷ bare handler (per second) and bare ÷ ours (p95): higher is better",
        "non_200": sum(1 for s in statuses if s != 200),
        "leads_made": made_leads,
        "flood_refused": sum(1 for s in flood_st if s == 429),
        "flood_server_errors": sum(1 for s in flood_st if s >= 500),
    }


async def main(quick: bool, postgres: str | None) -> None:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await run_backend(f"sqlite://{Path(tmp) / 'bench.sqlite3'}",
                                              "sqlite", quick)
    log(f"sqlite: {json.dumps(results['sqlite'])}")
    if postgres:
        async with scratch_postgres(postgres) as url:
            results["postgres"] = await run_backend(url, "postgres", quick)
        log(f"postgres: {json.dumps(results['postgres'])}")
    worse_p95 = max(results.values(), key=lambda r: r["lead_form_p95_ms"])
    worse_rate = min(results.values(), key=lambda r: r["ratio"] or 0)
    out = {
        "benchmark": "campaigns",
        "roi_report_p95_ms": max(r["roi_report_p95_ms"] for r in results.values()),
        "lead_form_p95_ms": worse_p95["lead_form_p95_ms"],
        "leads_per_s": worse_rate["leads_per_s"],
        "baseline_p95_ms": worse_p95["baseline_p95_ms"],
        "baseline_per_s": worse_rate["baseline_per_s"],
        "ratio": worse_rate["ratio"],
        "ratio_p95": worse_p95["ratio_p95"],
        "flood_refused": min(r["flood_refused"] for r in results.values()),
        "aim": {"roi_report_p95_ms": 300, "lead_form_p95_ms": 50},
        "rss_mb": round(rss_mb(), 1),
        "sqlite": results["sqlite"], "postgres": results.get("postgres"),
    }
    emit(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.postgres))

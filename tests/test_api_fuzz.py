"""The whole JSON API against its own OpenAPI document, with schemathesis (issue 18): as
a manager and as an admin, every operation gets generated requests; any 5xx, any
status the document does not list, any body that does not match it fails the test.
Bounded (a few examples per operation, derandomised, so a run is repeatable and takes
a minute or two); SQLite only."""

from __future__ import annotations

import asyncio

import pytest

from models import Role
from services import activities as act_svc
from services import clients as client_svc
from services import deal_parties
from services import deals as deal_svc
from tests.test_web import signed_in

EXAMPLES = 12
SKIP = {("POST", "/api/v1/auth/logout")}  # it would end the session the run works in


def _fuzz(doc: dict, base_url: str, cookies: dict, known: dict[str, int]) -> list[str]:
    """In a thread: schemathesis's requests are blocking; the service answers them on
    the test's event loop meanwhile."""
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_dict(doc)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    for op, mode in [(op, mode) for mode in GenerationMode for op in operations]:
        if (op.method.upper(), op.path) in SKIP:
            continue
        # invalid requests must be refused (4xx, as documented); valid ones answered
        mode_checks = checks if mode == GenerationMode.POSITIVE else [
            not_a_server_error, content_type_conformance]

        def make_run(op=op, mode=mode, mode_checks=mode_checks):
            # ids of things that exist, where the path has them: random ids are only 404s
            ids = {name: value for name, value in known.items()
                   if "{" + name + "}" in op.path}

            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                                 derandomize=True, phases=[Phase.explicit, Phase.generate],
                                 suppress_health_check=list(HealthCheck))
            @hypothesis.given(case=op.as_strategy(generation_mode=mode,
                                                  path_parameters=ids or None))
            def run(case):
                response = case.call(base_url=base_url, cookies=cookies, timeout=30)
                case.validate_response(response, checks=mode_checks)
            return run

        try:
            make_run()()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are listed
            failures.append(f"{mode.value} {op.method.upper()} {op.path}: "
                            f"{str(exc)[:1500]}")
    return failures


# a few examples for each of some 250 operations: minutes, not the suite's 120 s default
@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
async def test_the_api_matches_its_document_and_never_answers_5xx(service, emulator,
                                                                   make_staff, role):
    if "postgres" in service.settings.database_url:
        pytest.skip("the API run is bounded to one backend")
    person = await make_staff(role, language="en")
    client = (await client_svc.do_create_client(person, {"name": "Lutik"})).client
    activity = (await act_svc.do_create_activity(person, {"title": "Call Lutik",
                                                          "client_id": client.id})).activity
    deal = (await deal_svc.do_create_deal(person, {"client_id": client.id,
                                                   "amount": "100"})).deal
    boss = await deal_parties.do_add_party(person, deal.id, {"role": "decision_maker",
                                                           "name": "Director"})
    cfo = await deal_parties.do_add_party(person, deal.id, {"role": "influencer",
                                                          "name": "CFO"})
    link = await deal_parties.do_link(person, cfo.id, boss.id, "influences")
    colleague = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, person)
    doc = await (await service.client.get("/api/v1/openapi.json")).json()
    cookies = {c.key: c.value for c in service.client.session.cookie_jar}
    base_url = str(service.client.make_url("")).rstrip("/")
    known = {"client_id": client.id, "activity_id": activity.id, "user_id": colleague.id,
             "deal_id": deal.id, "process_id": deal.process_id, "party_id": boss.id,
             "link_id": link.id}
    failures = await asyncio.to_thread(_fuzz, doc, base_url, cookies, known)
    assert not failures, "\n\n".join(failures)

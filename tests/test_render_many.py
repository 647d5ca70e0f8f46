"""A mailing's recipients are rendered many to a worker call (issue 19, K-16, A-18):
services.templating.render_many gives each recipient exactly what rendering them alone
would (the text, or the refusal naming the field and the limit), in their order; a
chunk past the time limit is rendered again one by one, so only the slow recipient is
refused; the mailing's pump skips just the recipients whose render is refused, with
the reason, and queues the rest."""

from __future__ import annotations

import pytest

from models import MailingRecipient, OutboundMessage, Role
from services import mailings, templating
from services.errors import ValidationFailed
from services.messaging import do_save_template

JOBS = [("subject", "News for {{ client.name }}", False),
        ("body", "Dear {{ client.name }}, {{ client.extra }}", False)]


async def test_many_recipients_render_as_each_would_alone():
    contexts = [{"client": {"name": f"Client {i}", "extra": f"x{i}"}} for i in range(230)]
    contexts[7] = {"client": {"name": "No extra"}}  # a variable missing for this one only
    contexts[150] = {"client": {"name": "Big", "extra": "y" * 100_001}}  # over MAX_BODY
    many = await templating.render_many(JOBS, contexts)
    assert len(many) == 230  # three chunks of at most RENDER_CHUNK, in order
    for i in (0, 99, 100, 229):
        assert many[i] == await templating.render_fields(JOBS, contexts[i]) == [
            f"News for Client {i}", f"Dear Client {i}, x{i}"]
    for i, words in ((7, "unknown variable: {name}"),  # client.extra named "extra"
                     (150, "longer than {max_body} characters when rendered")):
        assert isinstance(many[i], ValidationFailed)
        with pytest.raises(ValidationFailed) as alone:
            await templating.render_fields(JOBS, contexts[i])
        assert (many[i].field, many[i].template, many[i].params) == (
            alone.value.field, alone.value.template, alone.value.params)
        assert many[i].field == "body" and many[i].template == words
    assert many[7].params == {"name": "extra"}


async def test_a_chunk_past_the_time_limit_refuses_only_the_slow_recipient(monkeypatch):
    monkeypatch.setattr(templating, "RENDER_TIMEOUT_S", 0.5)
    jobs = [("body", "{% for a in range(client.n) %}{% for b in range(client.n) %}"
                     "{% endfor %}{% endfor %}{{ client.name }}", False)]
    contexts = [{"client": {"name": f"C{i}", "n": 1}} for i in range(5)]
    contexts[2]["client"]["n"] = 20_000  # 400 million turns: far past half a second
    many = await templating.render_many(jobs, contexts)
    assert [m for i, m in enumerate(many) if i != 2] == [["C0"], ["C1"], ["C3"], ["C4"]]
    assert isinstance(many[2], ValidationFailed)
    assert many[2].template == "takes longer than {render_timeout_s:g} s to render"
    assert many[2].params == {"render_timeout_s": 0.5}


async def test_nothing_to_render_needs_no_worker():
    assert await templating.render_many([("subject", "", False)], [{}, {}]) == [[""], [""]]


async def test_the_pump_skips_only_recipients_whose_render_is_refused(database_url,
                                                                        make_staff):
    from services.clients import do_create_client

    admin = await make_staff(Role.ADMIN, language="en", email="boss@crm.example.ru")
    short = (await do_create_client(admin, {"name": "Al", "email": "al@al.ru"})).client
    long = (await do_create_client(admin, {"name": "A" * 30,
                                           "email": "long@al.ru"})).client
    # 4,000 copies of the name: 8,000 characters for Al, 120,000 (over the limit) for the other
    template = await do_save_template(admin, {
        "name": "Echo", "channel": "email", "subject": "Hi {{ client.name }}",
        "body": "{{ client.name * 4000 }}"})
    mailing = await mailings.do_create_mailing(admin, name="Echo", template_id=template.id,
                                               client_ids=[short.id, long.id],
                                               per_minute=6000)
    await mailings.do_mailing_action(admin, mailing.id, "start")
    assert await mailings.pump(secret="s", base_url="http://crm") == 1
    sent = await OutboundMessage.get(mailing_id=mailing.id)
    assert (sent.to_address, sent.subject) == ("al@al.ru", "Hi Al")
    assert sent.body.startswith("Al" * 4000 + "\n\n--\n")
    skipped = await MailingRecipient.get(mailing_id=mailing.id, client_id=long.id)
    assert skipped.state == "skipped"
    assert skipped.reason == "render: longer than 100000 characters when rendered"

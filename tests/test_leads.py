"""K-10: attribution (first touch kept, last replaced; the ad source, link and promo
resolvers; by hand) and web lead form submissions (round robin, region routes, the
honeypot, the rate limit, validation) — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Activity, ActivityAssignee, Client, DictionaryItem
from models.marketing import (
    AssignMode,
    Attribution,
    Campaign,
    CampaignState,
    CampaignVariant,
    LeadForm,
    LeadSubmission,
)
from services import attribution, lead_forms, lead_intake
from services.dictionaries import AD_SOURCE, REGION, ensure_system_dictionaries, list_items
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW


@pytest.fixture(autouse=True)
def _fresh_buckets():
    lead_intake.PER_ADDRESS.reset()
    lead_intake.PER_FORM.reset()
    yield


async def _campaign(name="Весна", **kw) -> tuple[Campaign, CampaignVariant, CampaignVariant]:
    c = await Campaign.create(name=name, state=CampaignState.RUNNING,
                              starts_on=TEST_NOW.date() - timedelta(days=10),
                              ends_on=TEST_NOW.date() + timedelta(days=10), **kw)
    a = await CampaignVariant.create(campaign=c, name="A", link_token=f"{name}-a"[:24],
                                     promo_code=f"{name}A".upper()[:40])
    b = await CampaignVariant.create(campaign=c, name="B", link_token=f"{name}-b"[:24])
    return c, a, b


async def test_k10_first_touch_kept_last_replaced(staff_world):
    """K-10: the first touch stays, the last is replaced, per subject."""
    c, a, b = await _campaign()
    client = await Client.create(name="Клиент")
    t0 = TEST_NOW - timedelta(days=3)
    await attribution.record_touch(client, campaign=c, variant=a, via="link", at=t0)
    await attribution.record_touch(client, campaign=c, variant=b, via="form", at=TEST_NOW)
    got = await attribution.touches("c", client.id)
    assert got["first"].variant == "A" and got["first"].via == "link"
    assert got["last"].variant == "B" and got["last"].via == "form"
    assert await Attribution.filter(subject=f"c:{client.id}").count() == 2
    # a lead activity is its own subject
    act = await Activity.create(type_id=(await _type()).id, title="x", client=client)
    await attribution.record_touch(client, campaign=c, variant=a, via="promo", activity=act)
    lead = await attribution.touches("a", act.id)
    assert lead["first"].variant == "A" == lead["last"].variant
    assert (await attribution.touches("c", client.id))["first"].variant == "A"
    assert (await attribution.touches("c", client.id))["last"].via == "promo"


async def _type():
    from services.activities import get_type

    return await get_type("inbound_request")


async def test_k10_resolvers(staff_world):
    """K-10: ad source (only while the campaign runs), link token, promo code in any
    case; the ad source hook on client creation."""
    from services.clients import do_create_client

    await ensure_system_dictionaries()
    source = (await list_items(AD_SOURCE))[0]
    c, a, _b = await _campaign()
    a.ad_source_id = source.id
    await a.save()
    assert (await attribution.variant_for_ad_source(source.id, TEST_NOW.date())).id == a.id
    assert await attribution.variant_for_ad_source(
        source.id, TEST_NOW.date() + timedelta(days=30)) is None
    assert (await attribution.variant_for_link("Весна-a")).id == a.id
    assert await attribution.variant_for_link("nope") is None
    assert (await attribution.variant_for_promo(" весна a ".replace(" a", "a"))).id == a.id
    made = (await do_create_client(staff_world["ivan"], {
        "name": "Из рекламы", "ad_source_id": source.id})).client
    got = await attribution.touches("c", made.id)
    assert got["first"] is not None and got["first"].via == "ad_source"
    assert got["first"].campaign_id == c.id
    # a deal made with that source: the deal is touched too
    from services.deals import do_create_deal

    deal = (await do_create_deal(staff_world["ivan"], {"client_id": made.id,
                                                       "source_id": source.id})).deal
    assert (await attribution.touches("d", deal.id))["last"].variant_id == a.id


async def test_k10_manual_touch_rights(staff_world):
    """K-10: the client's manager, heads and admins set or clear a touch by hand;
    another manager cannot."""
    from services.clients import do_create_client

    c, a, b = await _campaign()
    client = (await do_create_client(staff_world["ivan"], {"name": "Ручной"})).client
    got = await attribution.do_set_touch(staff_world["ivan"], "c", client.id, "first", b.id)
    assert got["first"].variant == "B" and got["first"].via == "manual"
    got = await attribution.do_set_touch(staff_world["admin"], "c", client.id, "last", a.id)
    assert got["last"].variant == "A"
    with pytest.raises((PermissionDenied, NotFound)):  # not hers: she does not see it
        await attribution.do_set_touch(staff_world["maria"], "c", client.id, "last", None)
    got = await attribution.do_set_touch(staff_world["ivan"], "c", client.id, "last", None)
    assert got["last"] is None and got["first"].variant == "B"


async def _form(world, name="Весна", **kw) -> LeadForm:
    _c, a, _b = await _campaign(name)
    data = {"title": "Заявка", "shown": ["name", "phone", "region", "message", "promo"],
            "required": ["name", "phone"], "assign_mode": "round_robin",
            "department_id": world["ivan"].department_id, **kw}
    return await lead_forms.create_form(world["admin"], a.id, data)


async def test_k10_round_robin_and_region(staff_world):
    """K-10: leads alternate among the department's people; a region route wins; a
    submission makes a client, an inbound request at the submission time and a touch."""
    await ensure_system_dictionaries()
    form = await _form(staff_world)
    await form.fetch_related("variant__campaign")
    got = []
    for n in range(4):
        out = await lead_intake.submit(form, {"name": f"Лид {n}", "phone": f"+7916123450{n}"},
                                       address_hash=f"h{n}")
        assert out.kind == "thanks", out.errors
        got.append(out.assigned.id)
    dept_people = sorted({staff_world[k].id for k in ("ivan", "maria", "head_msk")})
    assert got[:3] == dept_people and got[3] == dept_people[0]
    act = await Activity.get(id=out.activity.id).prefetch_related("type")
    assert act.type.code == "inbound_request"
    assert abs(act.starts_at - out.submission.at) < timedelta(seconds=1)
    assert await ActivityAssignee.filter(activity_id=act.id, user_id=got[3]).exists()
    touch = await attribution.touches("a", act.id)
    assert touch["first"].via == "form"
    # the same phone again: the same client
    again = await lead_intake.submit(form, {"name": "Лид 0", "phone": "8 916 123-45-00"},
                                     address_hash="x")
    assert again.client.id == (await LeadSubmission.filter(form_id=form.id).order_by(
        "id").first()).client_id
    # region routes
    from services.dictionaries import get_dictionary

    region = await DictionaryItem.create(dictionary=await get_dictionary(REGION),
                                         name="Тверская область")
    form = await lead_forms.update_form(staff_world["admin"], form.id, {
        "assign_mode": "region", "routes": [{"region_id": region.id,
                                             "user_id": staff_world["olena"].id}]})
    out = await lead_intake.submit(form, {"name": "Регион", "phone": "+79161234599",
                                          "region": str(region.id), "promo": "весенаа"},
                                   address_hash="r")
    assert out.kind == "invalid" and "promo" in out.errors  # no such code: named, kept
    assert out.values["name"] == "Регион"
    out = await lead_intake.submit(form, {"name": "Регион", "phone": "+79161234599",
                                          "region": str(region.id), "promo": " веснаa "},
                                   address_hash="r")
    assert out.kind == "thanks", out.errors
    assert out.assigned.id == staff_world["olena"].id
    assert (await attribution.touches("a", out.activity.id))["last"].via == "promo"


async def test_k10_honeypot_flood_and_bad_phone(staff_world):
    """K-10: a filled honeypot makes nothing; the rate limit refuses a flood; a bad
    phone is named and the values kept; an archived form is closed."""
    form = await _form(staff_world)
    await form.fetch_related("variant__campaign")
    out = await lead_intake.submit(form, {"name": "Bot", "phone": "+79161234500",
                                          "website": "http://spam"}, address_hash="b")
    assert out.kind == "thanks" and out.submission is None
    assert not await LeadSubmission.filter(form_id=form.id).exists()
    assert not await Client.filter(name="Bot").exists()
    out = await lead_intake.submit(form, {"name": "Ира", "phone": "12"}, address_hash="p")
    assert out.kind == "invalid" and "phone" in out.errors and out.values["name"] == "Ира"
    kinds = [(await lead_intake.submit(form, {"name": "F", "phone": "12"},
                                       address_hash="flood")).kind for _ in range(10)]
    assert kinds.count("limited") >= 5
    with pytest.raises(ValidationFailed):
        await lead_forms.update_form(staff_world["admin"], form.id, {"shown": ["name"]})
    with pytest.raises(PermissionDenied):
        await lead_forms.update_form(staff_world["ivan"], form.id, {"title": "x"})
    form = await lead_forms.archive_form(staff_world["admin"], form.id)
    assert (await lead_intake.submit(form, {}, address_hash="z")).kind == "closed"
    await lead_forms.delete_form(staff_world["admin"], form.id)
    assert not await LeadForm.filter(id=form.id).exists()
    assert not await DictionaryItem.filter(id=-1).exists()


async def test_k10_person_mode_and_cursor_race(staff_world):
    """K-10: the person mode; concurrent round robin turns never repeat a person."""
    import asyncio

    form = await _form(staff_world, assign_mode="person", person_id=staff_world["maria"].id)
    await form.fetch_related("variant__campaign")
    out = await lead_intake.submit(form, {"name": "П", "phone": "+79161234511"},
                                   address_hash="q")
    assert out.assigned.id == staff_world["maria"].id
    form2 = await _form(staff_world, "Осень")
    people = await asyncio.gather(*(lead_intake._round_robin(form2) for _ in range(3)))
    assert len({p.id for p in people}) == 3
    assert form2.assign_mode == AssignMode.ROUND_ROBIN

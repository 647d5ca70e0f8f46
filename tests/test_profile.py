"""Profiles in the staff directory (S-24): name, position, phone, email, time zone and
photo; who may change whose; bad input said and nothing changed."""

from __future__ import annotations

import pytest

from models import Department, Position, Role, User
from services import profile as svc
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.storage import LocalFileStore
from tests.test_web import signed_in

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe"
       b"\xa7\x9a\xa0\xa0\x00\x00\x00\x00IEND\xaeB`\x82")


async def _people(make_staff):
    sales = await Department.create(name="Продажи")
    other = await Department.create(name="Опт")
    admin = await make_staff(Role.ADMIN)
    head = await make_staff(Role.HEAD, department=sales)
    ivan = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER, department=other)
    return admin, head, ivan, olga


async def test_who_may_change_whose_profile(database_url, make_staff):
    admin, head, ivan, olga = await _people(make_staff)
    await svc.do_update_profile(ivan, ivan.id, {"phone": "8 916 123-45-67"})
    await svc.do_update_profile(head, ivan.id, {"position": "Старший менеджер"})
    await svc.do_update_profile(admin, olga.id, {"position": "старший менеджер"})
    ivan = await User.get(id=ivan.id).prefetch_related("position")
    olga = await User.get(id=olga.id).prefetch_related("position")
    assert ivan.phone == "+79161234567" and ivan.position.name == "Старший менеджер"
    assert olga.position_id == ivan.position_id  # a known position is reused
    names = await Position.all().values_list("name", flat=True)
    assert [n.casefold() for n in names].count("старший менеджер") == 1
    for actor, target in ((ivan, olga), (head, olga), (head, admin), (olga, head)):
        with pytest.raises((PermissionDenied, NotFound)):
            await svc.do_update_profile(actor, target.id, {"full_name": "Взломщик"})
    assert (await User.get(id=olga.id)).full_name != "Взломщик"


@pytest.mark.parametrize(("changes", "field"), [
    ({"phone": "12"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"full_name": "  "}, "full_name"),
    ({"role": "admin"}, "role"),
])
async def test_bad_input_named_nothing_changed(database_url, make_staff, changes, field):
    ivan = await make_staff(Role.MANAGER, name="Иван Кузнецов")
    with pytest.raises(ValidationFailed) as err:
        await svc.do_update_profile(ivan, ivan.id, {"position": "Менеджер", **changes})
    assert err.value.field == field
    again = await User.get(id=ivan.id)
    assert (again.full_name, again.role, again.position_id) == ("Иван Кузнецов",
                                                                Role.MANAGER, None)


async def test_photo_set_replaced_removed(database_url, make_staff, tmp_path):
    ivan = await make_staff(Role.MANAGER)
    store = LocalFileStore(tmp_path)
    await svc.do_set_photo(ivan, ivan.id, PNG, store)
    first = svc.photo_key(await User.get(id=ivan.id))
    assert await store.exists(first)
    for bad in (b"", b"GIF89a" + b"x" * 100, PNG + b"\x00" * svc.PHOTO_MAX):
        with pytest.raises(ValidationFailed):
            await svc.do_set_photo(ivan, ivan.id, bad, store)
    await svc.do_set_photo(ivan, ivan.id, PNG + b"\x00", store)
    second = svc.photo_key(await User.get(id=ivan.id))
    assert second != first and await store.exists(second) and not await store.exists(first)
    await svc.do_remove_photo(ivan, ivan.id, store)
    assert svc.photo_key(await User.get(id=ivan.id)) is None
    assert not await store.exists(second)


async def test_api_profile_and_photo(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    olga = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    http = service.client
    resp = await http.patch(f"/api/v1/staff/{ivan.id}/profile",
                            json={"email": "Ivan@Example.COM", "timezone": "Europe/Kyiv"})
    assert resp.status == 200 and (await resp.json())["timezone"] == "Europe/Kyiv"
    resp = await http.patch(f"/api/v1/staff/{olga.id}/profile", json={"phone": "+79160000000"})
    assert resp.status == 403
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", PNG, filename="me.png", content_type="image/png")
    assert (await http.post(f"/api/v1/staff/{ivan.id}/photo", data=form)).status == 201
    got = await http.get(f"/api/v1/staff/{ivan.id}/photo")
    assert got.status == 200 and got.content_type == "image/png" and await got.read() == PNG
    form = FormData()
    form.add_field("file", b"hello", filename="x.txt", content_type="text/plain")
    assert (await http.post(f"/api/v1/staff/{ivan.id}/photo", data=form)).status == 422
    form = FormData()
    form.add_field("file", PNG, filename="me.png", content_type="image/png")
    assert (await http.post(f"/api/v1/staff/{olga.id}/photo", data=form)).status == 403
    form = FormData()  # too large: refused while read, in Russian
    form.add_field("file", PNG + b"\x00" * svc.PHOTO_MAX, filename="big.png",
                   content_type="image/png")
    resp = await http.post(f"/api/v1/staff/{ivan.id}/photo", data=form)
    assert resp.status == 413 and "5 МБ" in (await resp.json())["detail"]
    form = FormData()
    form.add_field("file", PNG, filename="me.png", content_type="image/png")
    resp = await http.post("/api/v1/staff/99999999999/photo", data=form)
    assert resp.status == 404
    resp = await http.post(f"/api/v1/staff/{ivan.id}/photo", data=b"raw")
    assert resp.status == 415
    assert (await http.get(f"/api/v1/staff/{olga.id}/photo")).status == 404
    page = await (await http.get(f"/app/profile/{olga.id}")).text()
    assert "не вам" in page
    page = await (await http.get("/app/staff")).text()
    assert f'src="/api/v1/staff/{ivan.id}/photo"' in page

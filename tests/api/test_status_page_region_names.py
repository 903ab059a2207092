"""The status page attribute show_region_names through /api/v2/status-pages."""

from status.models import StatusPage


def test_show_region_names_is_off_unless_set_and_can_be_switched(api):
    created = api.post("/api/v2/status-pages", {"company_name": "Eleva Care", "subdomain": "eleva"})
    assert created.status_code == 201, created.content
    page_id = created.json()["data"]["id"]
    assert created.json()["data"]["attributes"]["show_region_names"] is False

    switched = api.patch(f"/api/v2/status-pages/{page_id}", {"show_region_names": True})

    assert switched.status_code == 200, switched.content
    assert switched.json()["data"]["attributes"]["show_region_names"] is True
    assert api.get(f"/api/v2/status-pages/{page_id}").json()["data"]["attributes"]["show_region_names"] is True
    assert StatusPage.objects.get(pk=page_id).show_region_names is True


def test_a_page_may_be_created_naming_its_regions(api):
    created = api.post(
        "/api/v2/status-pages", {"company_name": "Eleva Care", "subdomain": "eleva", "show_region_names": True}
    )

    assert created.status_code == 201, created.content
    assert created.json()["data"]["attributes"]["show_region_names"] is True


def test_a_value_that_is_not_a_boolean_is_a_422_naming_it(api):
    response = api.post(
        "/api/v2/status-pages", {"company_name": "Eleva Care", "subdomain": "eleva", "show_region_names": "sometimes"}
    )

    assert response.status_code == 422, response.content
    assert "show_region_names" in response.json()["errors"]
    assert not StatusPage.objects.exists()

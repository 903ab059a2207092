"""/api/v3/channels: create, read, update and delete channels; secrets are write-only."""

import json

import pytest

from alerts.models import Channel


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.PHAROS_API_RATE_LIMIT = 0


@pytest.fixture
def api(client, api_token):
    def call(method, path, body=None, token=api_token):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


def webhook(**attributes):
    return {
        "kind": "webhook",
        "name": "Ops hook",
        "config": {"url": "https://hooks.example.com/pharos", "headers": {"X-Team": "ops"}},
        "secrets": {"signing_secret": "s3cret"},
        **attributes,
    }


def test_creating_a_channel_returns_it_without_its_secrets(api, team):
    answer = api("post", "/api/v3/channels", webhook())
    assert answer.status_code == 201, answer.content
    data = answer.json()["data"]
    assert data["type"] == "channel"
    assert data["attributes"]["config"]["url"] == "https://hooks.example.com/pharos"
    assert data["attributes"]["secret_names"] == ["signing_secret"]
    assert "secrets" not in data["attributes"] and b"s3cret" not in answer.content
    assert Channel.objects.get(pk=data["id"]).secrets == {"signing_secret": "s3cret"}


def test_no_read_ever_shows_a_secret(api, team):
    channel = Channel.objects.create(
        team=team, kind="telegram", config={"chat_id": "1"}, secrets={"bot_token": "123:SECRET"}
    )
    for path in ("/api/v3/channels", f"/api/v3/channels/{channel.pk}"):
        answer = api("get", path)
        assert answer.status_code == 200 and b"SECRET" not in answer.content


def test_an_invalid_config_is_a_422_naming_the_attribute(api, team):
    answer = api("post", "/api/v3/channels", webhook(config={"url": "ftp://nope"}))
    assert answer.status_code == 422
    assert "config.url" in answer.json()["errors"]
    assert not Channel.objects.exists()


def test_an_unknown_kind_is_a_422(api, team):
    answer = api("post", "/api/v3/channels", {"kind": "carrier_pigeon"})
    assert answer.status_code == 422 and "kind" in answer.json()["errors"]


def test_a_missing_secret_is_a_422(api, team):
    answer = api("post", "/api/v3/channels", {"kind": "slack", "secrets": {}})
    assert answer.status_code == 422 and "secrets.webhook_url" in answer.json()["errors"]


def test_patch_merges_secrets_and_a_null_removes_one(api, team):
    channel_id = api(
        "post", "/api/v3/channels", webhook(secrets={"signing_secret": "a", "headers": {"Authorization": "x"}})
    ).json()["data"]["id"]
    answer = api(
        "patch",
        f"/api/v3/channels/{channel_id}",
        {"secrets": {"signing_secret": "b", "headers": None}, "enabled": False},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["data"]["attributes"]["enabled"] is False
    assert Channel.objects.get(pk=channel_id).secrets == {"signing_secret": "b"}


def test_the_kind_of_a_channel_cannot_change(api, team):
    channel_id = api("post", "/api/v3/channels", webhook()).json()["data"]["id"]
    answer = api("patch", f"/api/v3/channels/{channel_id}", {"kind": "slack"})
    assert answer.status_code == 422 and "kind" in answer.json()["errors"]


def test_deleting_a_channel_answers_204(api, team):
    channel_id = api("post", "/api/v3/channels", webhook()).json()["data"]["id"]
    assert api("delete", f"/api/v3/channels/{channel_id}").status_code == 204
    assert not Channel.objects.filter(pk=channel_id).exists()


def test_another_teams_channel_is_not_found(api, other_team):
    theirs = Channel.objects.create(team=other_team, kind="slack", secrets={"webhook_url": "https://hooks.slack.com/x"})
    assert api("get", f"/api/v3/channels/{theirs.pk}").status_code == 404
    assert api("patch", f"/api/v3/channels/{theirs.pk}", {"name": "mine"}).status_code == 404
    assert api("delete", f"/api/v3/channels/{theirs.pk}").status_code == 404
    assert api("get", "/api/v3/channels").json()["data"] == []


def test_a_personal_channel_must_belong_to_a_team_member(api, team, other_team, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", email="s@example.com")
    answer = api(
        "post",
        "/api/v3/channels",
        {"kind": "ntfy", "user_id": stranger.pk, "config": {"server_url": "https://ntfy.sh", "topic": "t"}},
    )
    assert answer.status_code == 422 and "user_id" in answer.json()["errors"]


def test_a_request_without_a_token_is_401(client):
    assert client.get("/api/v3/channels").status_code == 401


def test_a_channel_url_on_a_private_address_is_a_422_unless_allowed(api, team, settings):
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False
    answer = api("post", "/api/v3/channels", webhook(config={"url": "http://127.0.0.1:8080/hook"}))
    assert answer.status_code == 422
    assert "PHAROS_ALLOW_PRIVATE_TARGETS" in answer.json()["errors"]["config.url"][0]
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True
    assert api("post", "/api/v3/channels", webhook(config={"url": "http://127.0.0.1:8080/hook"})).status_code == 201


@pytest.mark.parametrize(
    "url",
    ["http://2130706433/hook", "http://0x7f000001/hook", "http://[2002:7f00:1::]/hook", "http://[fec0::1]/hook"],
)
def test_a_channel_url_on_a_disguised_inside_address_is_a_422(api, team, settings, url):
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False
    answer = api("post", "/api/v3/channels", webhook(config={"url": url}))
    assert answer.status_code == 422
    assert "config.url" in answer.json()["errors"]
    assert not Channel.objects.exists()


@pytest.mark.parametrize("attribute", ["config", "secrets"])
def test_a_nul_character_in_free_form_json_is_a_422_not_a_database_error(api, team, attribute):
    body = webhook()
    body[attribute] = {**body[attribute], "note": "a\u0000b"}
    answer = api("post", "/api/v3/channels", body)
    assert answer.status_code == 422
    assert attribute in answer.json()["errors"]
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    "token", ["123:ABC", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/../x", "bot:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"]
)
def test_a_telegram_bot_token_of_the_wrong_shape_is_a_422_naming_it(api, team, token):
    body = {"kind": "telegram", "name": "Chat", "config": {"chat_id": "-100123"}, "secrets": {"bot_token": token}}
    answer = api("post", "/api/v3/channels", body)
    assert answer.status_code == 422, answer.content
    assert "secrets.bot_token" in answer.json()["errors"]
    assert not Channel.objects.exists()


def test_a_telegram_bot_token_as_botfather_gives_it_is_accepted(api, team):
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    body = {"kind": "telegram", "name": "Chat", "config": {"chat_id": "-100123"}, "secrets": {"bot_token": token}}
    assert api("post", "/api/v3/channels", body).status_code == 201

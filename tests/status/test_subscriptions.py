"""Signing up to a page's updates: double opt-in, one-click unsubscribe, one page's list each."""

import re

from django.core import mail
from django.utils import timezone

from status.models import StatusPage, Subscriber


def subscribable(page):
    page.subscribable = True
    page.save()  # as the API and the admin do: the page cache hears of it
    return page


def confirm_link_in(message):
    return re.search(r"https?://\S+?(/status/\S+/confirm/\S+/)", message.body).group(1)


def test_the_page_shows_a_sign_up_form_only_when_subscribable(client, built_page, django_capture_on_commit_callbacks):
    assert 'id="subscribe-form"' not in client.get("/status/eleva/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the commit refreshes the cached page
        subscribable(built_page["page"])

    html = client.get("/status/eleva/").content.decode()
    assert '<form method="post" action="/status/eleva/subscribe"' in html


def test_signing_up_mails_a_confirm_link_and_only_confirming_activates(client, built_page):
    page = subscribable(built_page["page"])

    response = client.post("/status/eleva/subscribe", {"email": " Ana@Example.com "})

    assert response.status_code == 200 and 'data-state="check-inbox"' in response.content.decode()
    subscriber = Subscriber.objects.get(status_page=page)
    assert subscriber.email == "ana@example.com" and subscriber.confirmed_at is None
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    link = confirm_link_in(mail.outbox[0])

    assert 'data-state="confirm-button"' in client.get(link).content.decode()  # a link scanner's GET
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None

    assert 'data-state="confirmed"' in client.post(link).content.decode()
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None


def test_a_second_sign_up_answers_the_same_and_does_not_mail_a_confirmed_address(client, built_page):
    page = subscribable(built_page["page"])
    Subscriber.objects.create(
        status_page=page, email="ana@example.com", unsubscribe_token="t1", confirmed_at=timezone.now()
    )

    known = client.post("/status/eleva/subscribe", {"email": "ana@example.com"})
    unknown = client.post("/status/eleva/subscribe", {"email": "bo@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert [m.to for m in mail.outbox] == [["bo@example.com"]]
    assert Subscriber.objects.filter(status_page=page).count() == 2


def test_bad_or_oversized_addresses_are_refused_and_nothing_is_saved(client, built_page):
    subscribable(built_page["page"])

    for email in ("", "not-an-address", "a@" + "b" * 300 + ".com", "x" * 100_000):
        assert client.post("/status/eleva/subscribe", {"email": email}).status_code == 422, email[:20]

    assert not Subscriber.objects.exists() and not mail.outbox


def test_a_page_that_is_not_subscribable_takes_no_sign_up(client, built_page):
    assert client.post("/status/eleva/subscribe", {"email": "ana@example.com"}).status_code == 404
    assert not Subscriber.objects.exists()


def test_a_forged_or_other_pages_confirm_link_activates_nothing(client, built_page, other_team):
    page = subscribable(built_page["page"])
    other = StatusPage.objects.create(team=other_team, company_name="Other", subdomain="other", subscribable=True)
    client.post("/status/eleva/subscribe", {"email": "ana@example.com"})
    link = confirm_link_in(mail.outbox[0])

    assert client.post(link.replace("/eleva/", "/other/")).status_code == 404
    assert client.post(link[:-3] + "xx/").status_code == 404
    assert not Subscriber.objects.filter(confirmed_at__isnull=False).exists()
    assert not Subscriber.objects.filter(status_page=other).exists()
    assert Subscriber.objects.get().status_page == page


def test_unsubscribing_asks_on_get_and_deletes_on_one_click_post(client, built_page):
    page = subscribable(built_page["page"])
    Subscriber.objects.create(
        status_page=page, email="ana@example.com", unsubscribe_token="tok", confirmed_at=timezone.now()
    )
    url = "/status/eleva/unsubscribe/tok/"

    assert 'data-state="unsubscribe-button"' in client.get(url).content.decode()
    assert Subscriber.objects.exists()

    # What a mail client sends for List-Unsubscribe-Post (RFC 8058): no cookie, no CSRF token.
    csrf_client = client.__class__(enforce_csrf_checks=True)
    response = csrf_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and 'data-state="unsubscribed"' in response.content.decode()
    assert not Subscriber.objects.exists()


def test_an_unsubscribe_token_only_works_on_its_own_page(client, built_page, other_team):
    page = subscribable(built_page["page"])
    StatusPage.objects.create(team=other_team, company_name="Other", subdomain="other", subscribable=True)
    Subscriber.objects.create(
        status_page=page, email="ana@example.com", unsubscribe_token="tok", confirmed_at=timezone.now()
    )

    client.post("/status/other/unsubscribe/tok/")

    assert Subscriber.objects.filter(status_page=page).exists()


def test_signing_up_again_at_once_does_not_mail_the_address_again(client, built_page):
    subscribable(built_page["page"])

    for _ in range(3):
        assert client.post("/status/eleva/subscribe", {"email": "ana@example.com"}).status_code == 200

    assert [m.to for m in mail.outbox] == [["ana@example.com"]]

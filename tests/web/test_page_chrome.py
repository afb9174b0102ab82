"""What every agent page shares: the top bar with the sections, the login page's heading and
the site's icon."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from invitations.models import Channel, DeliveryStatus, Invitee, Session

pytestmark = pytest.mark.django_db

ICON = static("portal/favicon.svg")


def top_bar(html: str) -> dict[str, str]:
    """The links of the sections' navigation inside <header>: {text: attributes after href}."""
    header = re.search(r"<header\b.*?</header>", html, re.S)
    assert header, "no <header>"
    nav = re.search(
        r'<nav class="portal-nav" aria-label="[^"]+">(.*?)</nav>', header.group(0), re.S
    )
    assert nav, "no sections' <nav> in the <header>"
    return {text: href for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav[1])}


def current(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]+" aria-current="page">([^<]+)</a>', html)


@pytest.fixture
def session(people, credential):
    session = Session.objects.create(
        credential=credential, created_by=people["sue"], session_type=1, session_key="419015"
    )
    Invitee.objects.create(
        session=session, channel=Channel.SMS, destination="+14155550134", status=DeliveryStatus.SENT
    )
    return session


@pytest.mark.parametrize(
    ("url", "marked"),
    [
        (reverse("invitations:home"), ["Invite"]),
        (reverse("invitations:session-list"), ["Sessions"]),
        (reverse("invitations:dashboard"), ["Dashboard"]),
        (None, []),  # a session's page: within Sessions, but not the list itself
    ],
)
def test_the_top_bar_links_every_section_and_marks_the_page_it_is(
    client, people, session, url, marked
):
    client.force_login(people["sue"])
    html = client.get(url or session.get_absolute_url()).content.decode()
    assert top_bar(html) == {
        "Invite": reverse("invitations:home"),
        "Sessions": reverse("invitations:session-list"),
        "Dashboard": reverse("invitations:dashboard"),
    }
    assert current(html) == marked


def test_an_agent_has_no_dashboard_in_the_top_bar(client, people):
    client.force_login(people["ann"])
    html = client.get(reverse("invitations:session-list")).content.decode()
    assert list(top_bar(html)) == ["Invite", "Sessions"]


def test_the_top_bar_speaks_german(client, people):
    client.force_login(people["sue"])
    html = client.get(reverse("invitations:home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert list(top_bar(html)) == ["Einladen", "Sitzungen", "Übersicht"]
    assert "Angemeldet als <strong>sue</strong>." in html
    assert ">Abmelden</button>" in html
    assert '<nav aria-label="Navigationspfad">' in html


def test_the_login_page_has_a_heading(client):
    html = client.get(reverse("login")).content.decode()
    assert "<h1>Log in</h1>" in html
    assert (
        "<h1>Anmelden</h1>"
        in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    )


def test_pages_name_the_site_icon(client, people):
    """The login, the agent pages and the admin: each extends admin/base_site.html."""
    link = f'<link rel="icon" href="{ICON}" type="image/svg+xml">'
    assert link in client.get(reverse("login")).content.decode()
    client.force_login(people["root"])
    for url in (reverse("invitations:home"), reverse("admin:index")):
        assert link in client.get(url).content.decode(), url


def test_favicon_ico_leads_to_the_icon(client):
    """Browsers ask for /favicon.ico where a page names no icon; a 404 there fills the
    console."""
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, ICON)
    found = finders.find("portal/favicon.svg")
    assert found and Path(found).read_text().startswith("<svg ")

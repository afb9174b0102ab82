import pytest
from django.urls import reverse

from invitations.models import PartnerCredential

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(admin_client, agent, locmem_upstream, django_capture_on_commit_callbacks):
    from invitations import services

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(agent=agent, destination="(415) 555-0134", name="Ann")
    return admin_client


@pytest.mark.parametrize(
    "model", ["partnercredential", "agentprofile", "session", "invitee", "deliveryattempt"]
)
def test_changelists_render_with_search_and_filters(admin_session, model):
    url = reverse(f"admin:invitations_{model}_changelist")
    assert admin_session.get(url).status_code == 200
    assert admin_session.get(url, {"q": "ann"}).status_code == 200


def test_invitee_filters_and_search_find_the_invitee(admin_session):
    url = reverse("admin:invitations_invitee_changelist")
    html = admin_session.get(url, {"status__exact": "sent", "q": "+1415"}).content.decode()
    assert "+14155550134" in html
    html = admin_session.get(url, {"status__exact": "failed"}).content.decode()
    assert "+14155550134" not in html


def test_agent_profiles_show_the_partner_user_id(admin_session):
    html = admin_session.get(reverse("admin:invitations_agentprofile_changelist")).content.decode()
    assert "ann-77" in html


def test_session_change_page_lists_invitees(admin_session):
    from invitations.models import Session

    session = Session.objects.get()
    html = admin_session.get(
        reverse("admin:invitations_session_change", args=[session.pk])
    ).content.decode()
    assert "+14155550134" in html and session.session_key in html


def test_api_key_is_write_only(admin_client, credential):
    url = reverse("admin:invitations_partnercredential_change", args=[credential.pk])
    html = admin_client.get(url).content.decode()
    assert credential.reveal_secret() not in html
    assert credential.secret_ciphertext not in html
    assert "set" in html and 'type="password"' in html

    listing = admin_client.get(reverse("admin:invitations_partnercredential_changelist"))
    assert credential.reveal_secret() not in listing.content.decode()


def test_saving_with_a_blank_key_keeps_it_and_a_new_key_replaces_it(admin_client, credential):
    # The base URL stays as it is here: a new one needs the key again (test_credential_secrets).
    url = reverse("admin:invitations_partnercredential_change", args=[credential.pk])
    form = {
        "provider": "glance",
        "label": credential.label,
        "base_url": credential.base_url,
        "group_id": "72",
        "auth_type": "gkey",
        "auth_header": "authorization",
        "session_params": "",
        "link_delivery": "portal",
        "session_type": "2",
        "is_active": "on",
        "secret": "",
    }
    old_secret = credential.reveal_secret()
    assert admin_client.post(url, form).status_code == 302
    credential.refresh_from_db()
    assert credential.reveal_secret() == old_secret
    assert credential.session_type == 2

    assert admin_client.post(url, {**form, "secret": "brand-new-key"}).status_code == 302
    credential.refresh_from_db()
    assert credential.reveal_secret() == "brand-new-key"


def test_adding_a_credential_encrypts_the_key(admin_client):
    response = admin_client.post(
        reverse("admin:invitations_partnercredential_add"),
        {
            "provider": "glance",
            "label": "new-one",
            "base_url": "www.glance.net",
            "group_id": "9",
            "auth_type": "gkey",
            "auth_header": "authorization",
            "session_params": '{"camera": "back"}',
            "link_delivery": "portal",
            "session_type": "1",
            "is_active": "on",
            "secret": "the-new-api-key",
        },
    )
    assert response.status_code == 302
    credential = PartnerCredential.objects.get(label="new-one")
    assert credential.base_url == "https://www.glance.net"
    assert credential.session_params == {"camera": "back"}
    assert "the-new-api-key" not in credential.secret_ciphertext
    assert credential.reveal_secret() == "the-new-api-key"


def test_agents_cannot_open_the_admin(agent_client):
    response = agent_client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_auth_type_must_fit_the_provider(admin_client):
    response = admin_client.post(
        reverse("admin:invitations_partnercredential_add"),
        {
            "provider": "onsync",
            "label": "wrong-auth",
            "base_url": "https://api.onsync.example",
            "auth_type": "gkey",
            "auth_header": "authorization",
            "session_params": "",
            "link_delivery": "portal",
            "session_type": "1",
            "is_active": "on",
            "secret": "t",
        },
    )
    assert response.status_code == 200
    assert (
        "OnSync takes: Account password or developer key (HTTP Basic)." in response.content.decode()
    )
    assert not PartnerCredential.objects.filter(label="wrong-auth").exists()

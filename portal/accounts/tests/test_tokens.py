"""Web-chat tokens: minted by the portal, checked by Prosody, good for one user briefly."""

import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings
from django.test import Client

from portal.accounts import actions
from portal.accounts.models import User
from portal.accounts.tokens import mint_token
from tests.people import sign_up, wait_until_provisioned
from tests.xmpp_client import can_log_in, eventually

PASSWORD = "correct horse battery"


def token_login(server, username, token):
    return can_log_in(server, f"{username}@localhost", token, mech="PLAIN")


@pytest.mark.django_db
def test_credentials_endpoint_refuses_anonymous_requests_with_json_401():
    response = Client().get("/chat/credentials")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "not_authenticated"


@pytest.mark.django_db
def test_credentials_endpoint_refuses_cross_site_requests():
    client = sign_up("victor")
    response = client.get("/chat/credentials", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_credentials_endpoint_only_answers_get():
    client = sign_up("walter")
    assert client.post("/chat/credentials").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_credentials_endpoint_gives_a_token_that_logs_in_over_xmpp(xmpp_server, synced_db):
    client = sign_up("wendy")
    response = client.get("/chat/credentials", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = json.loads(response.content)
    assert body["jid"] == "wendy@localhost"
    assert body["password"] != PASSWORD
    eventually(lambda: token_login(xmpp_server, "wendy", body["password"]))


def _token_for(jid, expiry):
    mac = hmac.new(settings.XMPP_TOKEN_SECRET.encode(), f"{jid}.{expiry}".encode(), hashlib.sha256)
    return f"cbt1.{expiry}.{mac.hexdigest()}"


@pytest.mark.django_db(transaction=True)
def test_prosody_refuses_bad_tokens(xmpp_server, synced_db):
    sign_up("xavier")
    sign_up("yolanda")
    wait_until_provisioned(xmpp_server, "xavier", timeout=5)
    good = mint_token("xavier@localhost")
    assert token_login(xmpp_server, "xavier", good)
    now = int(time.time())
    refused = {
        "expired": _token_for("xavier@localhost", now - 5),
        "lifetime over five minutes": _token_for("xavier@localhost", now + 3600),
        "another user's": mint_token("yolanda@localhost"),
        "forged": _token_for("xavier@localhost", now + 60).replace("cbt1.", "cbt1.9"),
        "truncated": good[:-8],
        "wrong secret": f"cbt1.{now + 60}.{'0' * 64}",
    }
    accepted = [
        name for name, token in refused.items() if token_login(xmpp_server, "xavier", token)
    ]
    assert accepted == []


@pytest.mark.django_db(transaction=True)
def test_tokens_of_a_deactivated_user_are_refused(xmpp_server, synced_db):
    sign_up("zed")
    wait_until_provisioned(xmpp_server, "zed", timeout=5)
    token = mint_token("zed@localhost")
    actions.deactivate(User.objects.get(username="zed"))
    eventually(lambda: not token_login(xmpp_server, "zed", token), timeout=1.5)

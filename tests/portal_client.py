"""Acting through the portal's real pages, as a person in a browser would."""

from django.test import Client


def sign_up(username, password="correct horse battery", email=None, client=None) -> Client:
    client = client or Client()
    response = client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": email or f"{username.lower()}@example.org",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client

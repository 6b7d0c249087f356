"""Prosody's certificates come from the store the proxy (or the operator) keeps."""

import os

from stack.tls import CertificateStore

NAMES = ["example.org", "conference.example.org"]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_certificates_are_copied_from_caddy_layout_and_changes_reported(tmp_path):
    source, target = tmp_path / "certificates", tmp_path / "prosody"
    issuer = source / "acme-v02.api.letsencrypt.org-directory" / "example.org"
    write(issuer / "example.org.crt", "chain 1")
    write(issuer / "example.org.key", "key 1")
    store = CertificateStore([source], target, NAMES)

    assert store.install() is True
    assert (target / "example.org.crt").read_text() == "chain 1"
    assert (target / "example.org.key").stat().st_mode & 0o777 == 0o600
    assert not (target / "conference.example.org.crt").exists()
    assert not store.complete()  # the container keeps looking often
    assert store.install() is False  # nothing new: no reload

    write(issuer / "example.org.crt", "chain 2")
    assert store.install() is True
    assert (target / "example.org.crt").read_text() == "chain 2"

    conference = issuer.parent / "conference.example.org"
    write(conference / "conference.example.org.crt", "chain")
    write(conference / "conference.example.org.key", "key")
    assert store.install() is True and store.complete()


def test_operator_files_in_certbot_layout_and_newest_wins_across_sources(tmp_path):
    source = tmp_path / "letsencrypt"
    operator = tmp_path / "certs"
    write(source / "live" / "conference.example.org" / "fullchain.pem", "old chain")
    write(source / "live" / "conference.example.org" / "privkey.pem", "old key")
    write(operator / "conference.example.org.crt", "new chain")
    write(operator / "conference.example.org.key", "new key")
    old = source / "live" / "conference.example.org" / "fullchain.pem"
    os.utime(old, (1, 1))
    store = CertificateStore([source, operator], tmp_path / "prosody", NAMES)

    store.install()

    assert (tmp_path / "prosody" / "conference.example.org.crt").read_text() == "new chain"
    assert (tmp_path / "prosody" / "conference.example.org.key").read_text() == "new key"


def test_a_certificate_without_its_key_is_ignored(tmp_path):
    write(tmp_path / "certs" / "example.org.crt", "chain")
    store = CertificateStore([tmp_path / "certs"], tmp_path / "prosody", NAMES)
    assert store.install() is False
    assert CertificateStore([], tmp_path / "prosody", NAMES).install() is False

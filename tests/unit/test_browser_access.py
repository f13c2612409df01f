"""What a browser may send: credentials in the connection_init payload, and the CORS allow-list setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from progres.graphql.ws import CredentialsRefused, close_reason, credentials
from progres.services.cors import parse_origins
from progres.services.settings import Settings

HEADERS = {"authorization": "Bearer from-headers", "x-progres-organisation": "111"}


def test_the_payload_credentials_replace_the_headers_whole():
    sent = credentials(HEADERS, {"Authorization": "Bearer t", "Organisation": "222", "role": "acheteur"})
    assert sent == {"authorization": "Bearer t", "x-progres-organisation": "222", "x-progres-role": "acheteur"}
    assert credentials(HEADERS, {"X-Progres-Organisation": "333", "token": "raw", "role": None}) == {
        "authorization": "Bearer raw", "x-progres-organisation": "333"}


@pytest.mark.parametrize("payload", [None, {}, {"unrelated": "x"}, "not a dict", []])
def test_without_credentials_in_the_payload_the_headers_are_used(payload):
    assert credentials(HEADERS, payload) is HEADERS


@pytest.mark.parametrize(("payload", "message"), [
    ({"organisation": "222"}, "connection_init: give `authorization: Bearer <token>` with the organisation"),
    ({"authorization": ["Bearer t"]}, "connection_init: `authorization` must be a string"),
    ({"authorization": "Bearer t", "role": 3}, "connection_init: `role` must be a string"),
])
def test_incomplete_or_mistyped_payload_credentials_are_refused(payload, message):
    with pytest.raises(CredentialsRefused) as refused:
        credentials(HEADERS, payload)
    assert (refused.value.code, refused.value.status, str(refused.value)) == ("malformed_token", 401, message)


def test_a_close_reason_fits_in_a_close_frame_even_with_long_input():
    reason = close_reason(CredentialsRefused("rôle " + "é" * 200, "role_not_in_token", 403))
    assert reason.startswith("role_not_in_token: rôle é")
    assert len(reason.encode()) <= 123


def test_cors_origins_are_normalised_as_browsers_send_them():
    assert parse_origins("https://App.Example:443/, http://localhost:5173 ,") == (
        "https://app.example", "http://localhost:5173")
    assert parse_origins('["http://[::1]:8080"]') == ("http://[::1]:8080",)
    assert parse_origins("") == ()
    assert Settings(cors_origins="https://a.example").cors_origins == ("https://a.example",)
    assert Settings().cors_origins == ()


@pytest.mark.parametrize(("value", "message"), [
    ("*", "`*` is not accepted"),
    ("app.example", "CORS origin must look like https://host[:port], not 'app.example'"),
    ("https://app.example/path", "not 'https://app.example/path'"),
    ("ftp://app.example", "not 'ftp://app.example'"),
    ("https://user@app.example", "not 'https://user@app.example'"),
])
def test_a_cors_setting_that_is_not_a_list_of_origins_is_refused(value, message):
    with pytest.raises(ValidationError, match="cors_origins") as refused:
        Settings(cors_origins=value)
    assert message in str(refused.value)

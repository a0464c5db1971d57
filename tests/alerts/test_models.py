"""Fingerprints match prometheus/common bit for bit; labels are stored canonically."""

from alerts.fingerprint import fingerprint, fingerprint_int
from alerts.models import canonical_json


def test_fingerprints_match_the_vectors_of_prometheus_common():
    # model/signature_test.go in prometheus/common
    assert fingerprint_int({}) == 14695981039346656037
    pair = {"name": "garland, briggs", "fear": "love is not enough"}
    assert fingerprint_int(pair) == 5799056148416392346
    triple = {
        "first-label": "first-label-value",
        "second-label": "second-label-value",
        "third-label": "third-label-value",
    }
    assert fingerprint_int(triple) == 13843036195897128121


def test_a_fingerprint_is_sixteen_hex_digits_and_ignores_label_order():
    a = fingerprint({"alertname": "Down", "job": "api"})
    assert a == fingerprint({"job": "api", "alertname": "Down"})
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != fingerprint({"alertname": "Down", "job": "web"})
    assert fingerprint({}) == "cbf29ce484222325"


def test_non_ascii_labels_hash_their_utf8_bytes():
    assert fingerprint({"é": "ü"}) != fingerprint({"e": "u"})


def test_canonical_json_sorts_keys_without_spaces():
    assert canonical_json({"b": "1", "a": "2"}) == '{"a":"2","b":"1"}'

"""The key an end signs with and the keys published beside it, read at once (R21)."""

from __future__ import annotations

from datetime import timedelta

from chatrec.domain.manifest import new_private_key
from chatrec.store.store import Store
from tests.integration.store.factories import seed


def test_R21_an_end_is_signed_by_the_key_valid_when_it_ended_beside_every_published_key(
    store: Store,
) -> None:
    seed(store)
    [first] = store.signing_keys("acme")
    second = store.rotate_signing_key("acme", new_private_key())
    published = [first.key_id, second.key_id]
    for at, signer in (
        (first.valid_from, first.key_id),
        (second.valid_from - timedelta(microseconds=1), first.key_id),
        (second.valid_from, second.key_id),
        (second.valid_from + timedelta(days=400), second.key_id),
        (first.valid_from - timedelta(days=1), second.key_id),  # before any: the current one
    ):
        key, keys = store.signing_at("acme", at)
        assert key is not None
        assert key.public.key_id == signer, at
        assert [k.key_id for k in keys] == published
    assert store.signing_at("nobody", first.valid_from) == (None, [])

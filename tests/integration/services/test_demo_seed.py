"""The demo company seeded once for every node of a database (R20)."""

from __future__ import annotations

from pathlib import Path

from chatrec.demo.company import seed_demo
from chatrec.store.store import Store


def test_R20_a_second_demo_node_keeps_the_logins_the_first_one_printed(
    store: Store, tmp_path: Path
) -> None:
    first = seed_demo(store, tmp_path / "node1")
    assert all(login.password for login in first)
    hashes = {u.user_id: u.password_hash for u in store.list_users("demo")}

    second = seed_demo(store, tmp_path / "node2")
    assert [login.login for login in second] == [login.login for login in first]
    assert all(login.password == "" for login in second)
    assert {u.user_id: u.password_hash for u in store.list_users("demo")} == hashes

    again = seed_demo(store, tmp_path / "node1")  # the first node restarting
    assert again == first

"""Settings read at start-up: the key of the SFTP secrets (R18)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from chatrec.config import Config, load_config
from chatrec.store.secrets import KEY_VARIABLE, SecretBox, generate_key


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine that was never configured (the tests' own key removed)."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


@pytest.mark.usefixtures("no_key")
def test_R18_without_configuration_the_key_lives_in_the_data_dir(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path / "data")
    assert config.secret_key is None
    assert config.effective_secret_key_file == tmp_path / "data" / "secret.key"
    box = config.load_secret_box()
    assert (tmp_path / "data" / "secret.key").exists()
    assert load_config(data_dir=tmp_path / "data").load_secret_box().decrypt(box.encrypt("pw"))


@pytest.mark.usefixtures("no_key")
def test_R18_the_key_file_can_live_elsewhere(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path / "data", secret_key_file=tmp_path / "keys" / "k")
    config.load_secret_box()
    assert (tmp_path / "keys" / "k").exists()
    assert not (tmp_path / "data" / "secret.key").exists()


def test_R18_the_key_is_read_from_the_environment_and_kept_out_of_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv(KEY_VARIABLE, key)
    config = Config(data_dir=tmp_path)
    assert key not in repr(config)
    stored = config.load_secret_box().encrypt("pw")
    assert SecretBox([key]).decrypt(stored) == "pw"
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("value", ["changeme", "", "not-a-fernet-key", "A" * 43 + "="])
def test_R18_a_placeholder_or_invalid_key_refuses_to_start(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, value)
    with pytest.raises(ValidationError, match=KEY_VARIABLE) as refused:
        Config()
    if value:
        assert value not in str(refused.value)  # the refusal never echoes a secret


DOCS = Path(__file__).resolve().parents[2] / "docs" / "administration.md"


def _documented_settings() -> dict[str, str]:
    """Each variable of the Settings table of docs/administration.md, with its default."""
    section = DOCS.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(CHATREC_[A-Z_]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    return {variable: default.strip() for variable, default in rows}


def _shown(default: object) -> str:
    """A default as the table shows it: the value as it would be written in the variable."""
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, list):
        return f"`{json.dumps(default)}`"
    return f"`{default}`"


def test_every_setting_is_documented_with_its_variable_and_default() -> None:
    documented = _documented_settings()
    for name, field in Config.model_fields.items():
        variable = f"CHATREC_{name.upper()}"
        assert variable in documented, f"{variable} is not in docs/administration.md, Settings"
        default = field.get_default(call_default_factory=True)
        if default is None:
            assert documented[variable].startswith("unset: "), variable
        else:
            assert documented[variable] == _shown(default), variable
    assert len(documented) == len(Config.model_fields)


@pytest.mark.parametrize(
    "origin", ["https://www.acme.example/chat", "https://a.example; script-src *", "acme.example"]
)
def test_R18_a_widget_origin_that_is_no_origin_refuses_to_start(origin: str) -> None:
    # It becomes the widget frame's frame-ancestors: nothing else may ride along.
    with pytest.raises(ValidationError, match="is not a web site's origin"):
        Config(widget_origins=[origin])
    allowed = ["https://www.acme.example", "http://127.0.0.2:8401", "https://[2001:db8::1]:443"]
    assert Config(widget_origins=allowed).widget_origins == allowed

"""The examples in docs/ are what the code renders today (R15), so the docs never drift."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from chatrec.domain.render import RenderedFile

ROOT = Path(__file__).resolve().parents[3]


def _load_script() -> ModuleType:
    path = ROOT / "scripts" / "render_examples.py"
    spec = importlib.util.spec_from_file_location("render_examples", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_examples", module)
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()
FILES = SCRIPT.example_files()
HINT = "run .venv/bin/python scripts/render_examples.py and review the diff"


@pytest.mark.parametrize("file", FILES.all_files, ids=lambda file: file.format)
def test_R15_example_file_in_docs_is_what_the_code_renders(file: RenderedFile) -> None:
    assert (SCRIPT.EXAMPLES / file.path).read_bytes() == file.content, HINT


def test_R15_recording_format_doc_shows_what_the_code_renders() -> None:
    doc = SCRIPT.DOC.read_text(encoding="utf-8")
    assert SCRIPT.sync_doc(doc, FILES) == doc, HINT
    for file in FILES.all_files:
        assert f"`{file.path}`" in doc


def test_R8_example_keeps_the_card_number_out_of_every_file() -> None:
    for file in FILES.all_files:
        assert b"4111" not in file.content
        assert b"payment went through" not in file.content
    assert b"4111" not in SCRIPT.DOC.read_bytes()


def test_R15_example_is_the_primary_agents_recording_in_every_format() -> None:
    assert FILES.recording_id == "C1001-r2"
    assert [file.format for file in FILES.all_files] == [
        "json",
        "vcon",
        "text",
        "html",
        "manifest",  # signed with the test key of docs/verification.md (R21)
        "key",
        "sidecar",
    ]

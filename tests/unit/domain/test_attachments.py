"""Files sent in a chat (R23): the type read from the bytes, the company's limits, and
the names they are delivered under beside a recording."""

from __future__ import annotations

import hashlib

import pytest

from chatrec.domain.attachments import (
    DEFAULT_MAX_BYTES,
    KNOWN_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_FILE_NAME,
    MAX_PER_CHAT,
    AttachmentPolicy,
    attachment_name,
    attachment_path,
    check_attachment,
    check_room_for_attachment,
    describe_size,
    sniff_media_type,
    unambiguous_base,
)
from chatrec.errors import (
    AttachmentTooLargeError,
    AttachmentTypeError,
    ChatFullError,
    InvalidRequestError,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF87a" + b"\x00" * 8, "image/gif"),
        (b"GIF89a" + b"\x00" * 8, "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (PDF, "application/pdf"),
        ("Grüße,\tline\r\nnext\f".encode(), "text/plain"),
        (b"text with a \x00 in it", None),
        (b"\xff\xfe not utf-8", None),
        (EXE, None),
        (b"", None),
    ],
)
def test_R23_the_type_is_read_from_the_bytes(content: bytes, expected: str | None) -> None:
    assert sniff_media_type(content) == expected


def test_R23_a_file_the_company_takes_is_kept_with_its_sniffed_type_size_and_sha256() -> None:
    checked = check_attachment(AttachmentPolicy(), "../../etc/Photo of me.PNG", PNG)
    assert checked.name == "Photo_of_me.PNG"
    assert checked.media_type == "image/png"
    assert checked.size == len(PNG)
    assert checked.sha256 == hashlib.sha256(PNG).hexdigest()


@pytest.mark.parametrize(
    ("policy", "content", "error", "says"),
    [
        (AttachmentPolicy(enabled=False), PNG, InvalidRequestError, "does not take attachments"),
        (AttachmentPolicy(), b"", InvalidRequestError, "empty"),
        (AttachmentPolicy(max_bytes=10), PNG, AttachmentTooLargeError, "at most 10 bytes"),
        (AttachmentPolicy(max_bytes=1024), PNG * 60, AttachmentTooLargeError, r"1 KB \(1024"),
        (AttachmentPolicy(), EXE, AttachmentTypeError, "does not recognise"),
        (
            AttachmentPolicy(types=frozenset({"image/png"})),
            PDF,
            AttachmentTypeError,
            "is application/pdf .*takes image/png$",
        ),
        (AttachmentPolicy(types=frozenset()), PNG, AttachmentTypeError, "takes no files"),
    ],
)
def test_R23_a_refused_file_names_the_limit(
    policy: AttachmentPolicy, content: bytes, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        check_attachment(policy, "photo.png", content)


def test_R23_a_png_name_does_not_make_pdf_bytes_an_image() -> None:
    images = AttachmentPolicy(types=frozenset({"image/png", "image/jpeg"}))
    with pytest.raises(AttachmentTypeError, match="application/pdf"):
        check_attachment(images, "photo.png", PDF)


@pytest.mark.parametrize(
    ("max_bytes", "types", "says"),
    [
        (0, KNOWN_TYPES, "1 to"),
        (MAX_ATTACHMENT_BYTES + 1, KNOWN_TYPES, "25 MB"),
        (DEFAULT_MAX_BYTES, ("image/png", "application/x-msdownload"), "x-msdownload"),
    ],
)
def test_R23_a_policy_outside_what_chatrec_takes_is_refused(
    max_bytes: int, types: tuple[str, ...], says: str
) -> None:
    with pytest.raises(InvalidRequestError, match=says):
        AttachmentPolicy(max_bytes=max_bytes, types=frozenset(types))


@pytest.mark.parametrize(
    ("size", "words"),
    [(10 * 1024 * 1024, "10 MB"), (512 * 1024, "512 KB"), (1500, "1500 bytes")],
)
def test_sizes_are_told_as_people_read_them(size: int, words: str) -> None:
    assert describe_size(size) == words


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("..", "none"),
        ("a" * 300 + ".jpeg", "a" * 115 + ".jpeg"),
        ("b" * 300, "b" * 120),
        ("c" * 200 + ".averyverylongextension", "c" * 120),
    ],
)
def test_R23_names_are_made_safe_and_short(sent: str, kept: str) -> None:
    assert attachment_name(sent) == kept


def test_R23_an_attachment_goes_beside_its_recording_numbered() -> None:
    assert attachment_path("2026/acme_C1", 2, "photo.png") == "2026/acme_C1.att2-photo.png"
    long_base = "x/" + "b" * 200
    path = attachment_path(long_base, 1, "p" * 120 + ".png")
    assert len(path.rsplit("/", 1)[-1]) == MAX_FILE_NAME
    assert path.endswith("p.png")


def test_R6_a_base_that_looks_like_an_attachment_is_changed() -> None:
    assert unambiguous_base("day/acme.att1-photo") == "day/acme_att1-photo"
    assert unambiguous_base("day/acme.attic") == "day/acme.attic"


def test_R19_a_chat_holds_so_many_files() -> None:
    check_room_for_attachment(MAX_PER_CHAT - 1)
    with pytest.raises(ChatFullError, match=f"holds {MAX_PER_CHAT} files"):
        check_room_for_attachment(MAX_PER_CHAT)

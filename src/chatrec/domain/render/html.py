"""The HTML transcript: one standalone, accessible page per recording (R15).

Every value from the chat passes through :func:`html.escape`, so a message such as
``<script>…</script>`` stays text.  As a second fence the page forbids every script,
font, image and connection by its Content-Security-Policy, and it needs nothing from
outside: the styles are inline.  It uses landmarks, headings, a description list and
an ordered list, ``<time>`` elements with the full UTC time, and colours with enough
contrast that still say nothing a screen reader would miss.
"""

from __future__ import annotations

from html import escape
from typing import Any

from chatrec.domain.render.describe import (
    action,
    clean,
    clock,
    decided_by,
    detail_fields,
    flag_values,
    marker_head,
    note_label,
    one_line,
    staff_label,
)
from chatrec.domain.render.json_format import utf8

MEDIA_TYPE = "text/html; charset=utf-8"

_STYLE = """\
body{margin:0 auto;max-width:52rem;padding:1rem 1.25rem;font:16px/1.5 system-ui,sans-serif;\
color:#1b1b1b;background:#fff}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dt{font-weight:600}dd{margin:0}
ol{list-style:none;padding:0;margin:0}
li{padding:.4rem .6rem;margin:.3rem 0;border-left:4px solid #8a8a8a}
li.customer{border-color:#1f5fa8;background:#eef4fb}
li.agent,li.supervisor{border-color:#2d6a2d;background:#eef6ee}
li.flow,li.system{border-color:#6b4c9a;background:#f4f0fa}
li.event{color:#3b3b3b;font-size:.95rem}
li.marker{border-color:#a15c00;background:#fff4e0;font-weight:600}
li.note{border-style:dashed;border-color:#6b4fa0;background:#f4f0fb}
.internal-label{font-size:.8rem;font-weight:600;color:#4b3280;text-transform:uppercase}
.meta{margin:0;font-size:.9rem;color:#3b3b3b}.text{margin:.2rem 0 0;white-space:pre-wrap}
time{font-variant-numeric:tabular-nums}
"""


def _e(text: str) -> str:
    return escape(clean(text), quote=True)


def _time(at: str, day: str) -> str:
    return f'<time datetime="{_e(at)}">{_e(clock(at, day))}</time>'


def _details(document: dict[str, Any]) -> list[str]:
    fields = [*detail_fields(document), *flag_values(document)]
    lines = ['<section aria-labelledby="details">', '<h2 id="details">Details</h2>', "<dl>"]
    lines += [f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in fields]
    lines += ["</dl>", '<h3 id="participants">Participants</h3>', "<ul>"]
    lines += [f"<li>{_e(staff_label(p))}</li>" for p in document["participants"]]
    lines += ["</ul>", "</section>"]
    return lines


def _decision(document: dict[str, Any]) -> list[str]:
    lines = [
        '<section aria-labelledby="why">',
        '<h2 id="why">Why this recording was kept</h2>',
        f"<p>Decided by <strong>{_e(decided_by(document))}</strong>.</p>",
        "<ul>",
    ]
    lines += [f"<li>{_e(sentence)}</li>" for sentence in document["decision"]["explanation"]]
    lines += ["</ul>", "</section>"]
    return lines


def _item(entry: dict[str, Any], day: str) -> str:
    if entry["type"] in {"paused", "resumed"}:
        head = _e(marker_head(entry))
        return f'<li class="marker" role="note">{head} at {_time(entry["at"], day)}</li>'
    if entry["type"] == "note":  # R23: marked, so no reader takes it for what was said
        by = entry["by"]
        return (
            f'<li class="note internal"><p class="meta">{_time(entry["at"], day)} '
            f"<strong>{_e(one_line(by['name']))}</strong> ({_e(by['role'])}) "
            f'<span class="internal-label">{_e(note_label(entry).capitalize())}</span></p>'
            f'<p class="text">{_e(entry["text"])}</p></li>'
        )
    if entry["type"] != "message":
        return f'<li class="event">{_time(entry["at"], day)} {_e(action(entry))}</li>'
    by = entry["by"]
    return (
        f'<li class="{_e(by["role"])}"><p class="meta">{_time(entry["at"], day)} '
        f"<strong>{_e(one_line(by['name']))}</strong> ({_e(by['role'])})</p>"
        f'<p class="text">{_e(entry["text"])}</p></li>'
    )


def render_html(document: dict[str, Any]) -> bytes:
    """The transcript as a UTF-8 HTML5 page that needs no network and runs no script."""
    day = document["started_at"][:10]
    title = (
        f"Chat {document['chat_id']}, recording {document['recording_id']}: "
        f"{one_line(document['company']['name'])}, {one_line(document['service'])}"
    )
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>\n{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Chat transcript</h1>",
        f"<p>{_e(title)}</p>",
        "</header>",
        "<main>",
        *_details(document),
        *_decision(document),
        '<section aria-labelledby="transcript">',
        '<h2 id="transcript">Transcript</h2>',
        "<p>Times are UTC.</p>",
        '<ol aria-labelledby="transcript">',
        *(_item(entry, day) for entry in document["events"]),
        "</ol>",
        "</section>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return utf8("\n".join(lines) + "\n")

"""``chatrec admin company``: companies, their products (R1) and recording settings.

Also ``template-preview``, the name a filename template gives a sample chat (R6), and
``mask-preview``, what masking settings keep of a sample text (R22).

Its length is ``company set``'s: every setting is one typed option with the help an
administrator reads, and they are kept side by side as the console's settings page is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatrec.cli.admin.administration import (
    administration,
    company_of,
    fail,
    fail_template,
    principal,
    refusals,
    refuse_json,
)
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir
from chatrec.cli.admin.output import format_fields, print_result, yes
from chatrec.cli.admin.tables import Column, Table, print_table
from chatrec.cli.help import App
from chatrec.domain.attachments import KNOWN_TYPES, MAX_ATTACHMENT_BYTES, describe_size
from chatrec.domain.masking import MaskPattern
from chatrec.errors import TemplateError

if TYPE_CHECKING:
    from chatrec.domain.manifest import PublicKey
    from chatrec.store.records import CompanyRecord

company_app = App(
    help="Create companies, provision their products (R1) and set how they record (R6, R15, R17)."
)

Products = Annotated[
    list[str] | None,
    typer.Option(
        "--product",
        metavar="PRODUCT",
        help="A product to provision, call_recording or webchat; repeat the option for both "
        "(R1). Left out: none, and nothing is recorded.",
    ),
]
CompanyName = Annotated[
    str, typer.Option("--name", metavar="NAME", help="The company's name, as people see it.")
]


def company_view(company: CompanyRecord) -> dict[str, Any]:
    from chatrec.services.admin.companies import (
        preview_template,
        recording_status,
        settings_view,
    )

    status = recording_status(company)
    return {
        "company_id": company.company_id,
        "name": company.name,
        "products": sorted(company.products),
        "records": status.records,
        "recording_status": status.sentence,
        "template_preview": preview_template(company.default_template),
        **settings_view(company),
        # In the order the console lists them.
        "attachment_types": [t for t in KNOWN_TYPES if t in company.attachment_types],
    }


def _attachments_line(view: dict[str, Any]) -> str:
    if not view["attachments_enabled"]:
        return "off: no files in chats"
    types = ", ".join(view["attachment_types"]) or "no types"
    return f"up to {describe_size(view['attachment_max_bytes'])}: {types}"


def _wrap_up_line(view: dict[str, Any]) -> str:
    codes = ", ".join(view["wrap_up_codes"]) or "no codes"
    return f"{codes} ({'required' if view['wrap_up_required'] else 'optional'})"


def _masking_line(view: dict[str, Any]) -> str:
    cards = (
        "card numbers masked"
        if view["mask_card_numbers"]
        else "card numbers NOT masked (turned off by an administrator)"
    )
    own = [f"{pattern['name']} = {pattern['pattern']}" for pattern in view["masking_patterns"]]
    return "; ".join([cards, *own])


def _format_company(view: dict[str, Any]) -> str:
    retention = view["retention_seconds"]
    return format_fields(
        f"company {view['company_id']} ({view['name']})",
        [
            ("products", ", ".join(view["products"]) or "none"),
            ("recording", view["recording_status"]),
            ("template", view["default_template"]),
            ("preview", view["template_preview"]),
            ("formats", ", ".join(view["formats"])),
            ("vCon draft", view["vcon_draft"]),
            ("retention", f"{retention} seconds" + (" (purge at once)" if not retention else "")),
            ("masking", _masking_line(view)),
            # Labels no longer than "vCon draft": the column stays as scripts read it.
            (
                "typing",
                "preview on: agents see the customer's draft"
                if view["typing_preview"]
                else "preview off",
            ),
            (
                "notes",
                "internal notes recorded, marked internal"
                if view["record_internal_notes"]
                else "internal notes left out of recordings",
            ),
            ("wrap-up", _wrap_up_line(view)),
            ("target", f"answered within {view['answer_target_seconds']} s (dashboard)"),
            ("files", _attachments_line(view)),
        ],
    )


def _as_is(view: dict[str, Any]) -> object:
    return view


_COMPANIES: Table[dict[str, Any]] = Table(
    view=_as_is,
    columns=(
        Column("ID", lambda view: view["company_id"]),
        Column("RECORDS", lambda view: yes(view["records"]), state=True),
        Column("PRODUCTS", lambda view: ", ".join(view["products"])),
        Column("NAME", lambda view: view["name"]),
    ),
    empty="no companies",
)


def _print_company(view: dict[str, Any], as_json: bool) -> None:
    print_result(as_json, view, _format_company(view))


@company_app.command("list")
def company_list(
    as_json: AsJson = False, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List every company, and whether its chats are recorded (R1)."""
    with administration(data_dir, database_url) as admin:
        views = [company_view(c) for c in admin.companies.list_companies(principal())]
    print_table(views, as_json, _COMPANIES)


@company_app.command("create")
def company_create(
    company_id: Annotated[
        str,
        typer.Argument(
            metavar="COMPANY_ID",
            help="The new company's id: 2 to 40 lower-case letters, digits or '-'.",
        ),
    ],
    name: CompanyName,
    product: Products = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a company (a tenant); without both products it records nothing (R1)."""
    with administration(data_dir, database_url) as admin:
        company = admin.companies.create(principal(), company_id, name, product or [])
        view = company_view(company)
    _print_company(view, as_json)


@company_app.command("show")
def company_show(
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show a company's settings, whether it records (R1) and its template's preview (R6)."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        view = company_view(admin.companies.get(acting, company_of(admin, acting, company)))
    _print_company(view, as_json)


@company_app.command("provision")
def company_provision(
    company: Company = None,
    product: Products = None,
    none: Annotated[
        bool, typer.Option("--none", help="Take every product away, so nothing is recorded (R1).")
    ] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the company's products: with call_recording and webchat its chats are recorded (R1)."""
    if bool(product) == none:
        fail("name the products with --product (call_recording, webchat), or give --none")
    with administration(data_dir, database_url) as admin:
        acting = principal()
        provisioned = admin.companies.provision(
            acting, company_of(admin, acting, company), product or []
        )
        view = company_view(provisioned)
    _print_company(view, as_json)


@company_app.command("set")
def company_set(
    company: Company = None,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="The company's new name. Left out: unchanged."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="TEMPLATE",
            help="The default filename template of recordings, such as {date}/{chat_id} (R6). "
            "Left out: unchanged.",
        ),
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="A recording format, json, vcon, text or html; repeat the option for several "
            "(R15). Left out: unchanged.",
        ),
    ] = None,
    retention_seconds: Annotated[
        int | None,
        typer.Option(
            "--retention-seconds",
            metavar="SECONDS",
            help="How long message bodies are kept once the recordings are delivered; 0 purges "
            "them at once (R17). Left out: unchanged.",
        ),
    ] = None,
    vcon_draft: Annotated[
        str | None,
        typer.Option(
            "--vcon-draft",
            metavar="DRAFT",
            help="Which vCon draft vcon files follow: core, the current one, or container, "
            "for QA platforms that read the earlier drafts, as the vcon library 0.3 on PyPI "
            "does (R15). Left out: unchanged.",
        ),
    ] = None,
    mask_card_numbers: Annotated[
        bool | None,
        typer.Option(
            "--mask-card-numbers/--no-mask-card-numbers",
            help="Mask payment card numbers in every message to their last four digits (R22), "
            "as every company does until an administrator turns it off; turning it off is "
            "audited. For chats that start after the change. Left out: unchanged.",
            show_default=False,
        ),
    ] = None,
    mask_patterns: Annotated[
        list[str] | None,
        typer.Option(
            "--mask-pattern",
            metavar="NAME=PATTERN",
            help="A value of the company's own to mask in every message, an RE2 pattern "
            "(no back-references or look-around), such as 'National ID=[A-Z]{2}\\d{6}[A-D]'; "
            "repeat the option for several. They replace the company's patterns (R22). "
            "Left out: unchanged.",
        ),
    ] = None,
    no_mask_patterns: Annotated[
        bool,
        typer.Option(
            "--no-mask-patterns", help="Remove every masking pattern of the company's own."
        ),
    ] = False,
    typing_preview: Annotated[
        bool | None,
        typer.Option(
            "--typing-preview/--no-typing-preview",
            help="Show agents what the customer types before they send it, masked as a "
            "message is (R22) and never recorded (R23); the widget tells the customer. Off "
            "unless turned on; for chats that start after the change. Left out: unchanged.",
            show_default=False,
        ),
    ] = None,
    record_internal_notes: Annotated[
        bool | None,
        typer.Option(
            "--record-internal-notes/--no-record-internal-notes",
            help="Keep staff's internal notes in recordings, marked internal (R23), as every "
            "company does until an administrator turns it off. Left out: unchanged.",
            show_default=False,
        ),
    ] = None,
    wrap_up_codes: Annotated[
        list[str] | None,
        typer.Option(
            "--wrap-up-code",
            metavar="CODE",
            help="A wrap-up code staff choose from (R23); repeat for several, in the order "
            "shown. They replace the company's codes. Left out: unchanged.",
        ),
    ] = None,
    no_wrap_up_codes: Annotated[
        bool, typer.Option("--no-wrap-up-codes", help="Remove every wrap-up code.")
    ] = False,
    wrap_up_required: Annotated[
        bool | None,
        typer.Option(
            "--wrap-up-required/--wrap-up-optional",
            help="Whether an agent must choose a wrap-up code before ending a chat (R23). "
            "Left out: unchanged.",
            show_default=False,
        ),
    ] = None,
    answer_target_seconds: Annotated[
        int | None,
        typer.Option(
            "--answer-target-seconds",
            metavar="SECONDS",
            help="The supervisors' dashboard counts a chat as answered in time when an "
            "agent takes it within this many seconds of its start (1 to 3600). Left out: "
            "unchanged.",
        ),
    ] = None,
    attachments: Annotated[
        bool | None,
        typer.Option(
            "--attachments/--no-attachments",
            help="Whether customers and staff may send files in chats (R23); on unless "
            "turned off. Left out: unchanged.",
            show_default=False,
        ),
    ] = None,
    attachment_max_bytes: Annotated[
        int | None,
        typer.Option(
            "--attachment-max-bytes",
            metavar="BYTES",
            help=f"The largest file taken in a chat (1 to {MAX_ATTACHMENT_BYTES}; "
            "10485760 unless changed). Left out: unchanged.",
        ),
    ] = None,
    attachment_types: Annotated[
        list[str] | None,
        typer.Option(
            "--attachment-type",
            metavar="TYPE",
            help=f"A file type taken in chats, as read from the bytes: {', '.join(KNOWN_TYPES)}; "
            "repeat for several. They replace the company's types. Left out: unchanged.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change the company's name, template, formats, vCon draft, retention, masking,
    agents' desk or attachment settings; all checked, then kept."""
    if mask_patterns and no_mask_patterns:
        fail("give --mask-pattern or --no-mask-patterns, not both")
    patterns = [] if no_mask_patterns else _mask_patterns(mask_patterns)
    changes = (name, template, formats, retention_seconds, vcon_draft, mask_card_numbers, patterns)
    if wrap_up_codes and no_wrap_up_codes:
        fail("give --wrap-up-code or --no-wrap-up-codes, not both")
    codes = [] if no_wrap_up_codes else wrap_up_codes or None
    desk = (typing_preview, record_internal_notes, codes, wrap_up_required, answer_target_seconds)
    files = (attachments, attachment_max_bytes, attachment_types)
    if all(change is None for change in (*changes, *desk, *files)):
        fail(
            "nothing to change: give --name, --template, --format, --vcon-draft, "
            "--retention-seconds, --[no-]mask-card-numbers, --mask-pattern, --no-mask-patterns, "
            "--[no-]typing-preview, --[no-]record-internal-notes, --wrap-up-code, "
            "--no-wrap-up-codes, --wrap-up-required/--wrap-up-optional, "
            "--answer-target-seconds, --[no-]attachments, --attachment-max-bytes or "
            "--attachment-type"
        )
    with administration(data_dir, database_url) as admin:
        acting = principal()
        updated = admin.companies.update(
            acting,
            company_of(admin, acting, company),
            name=name,
            default_template=template,
            formats=formats,
            retention_seconds=retention_seconds,
            vcon_draft=vcon_draft,
            mask_card_numbers=mask_card_numbers,
            masking_patterns=patterns,
            typing_preview=typing_preview,
            record_internal_notes=record_internal_notes,
            wrap_up_codes=codes,
            wrap_up_required=wrap_up_required,
            answer_target_seconds=answer_target_seconds,
            attachments_enabled=attachments,
            attachment_max_bytes=attachment_max_bytes,
            attachment_types=attachment_types,
        )
        view = company_view(updated)
    _print_company(view, as_json)


def _mask_patterns(given: list[str] | None) -> list[MaskPattern] | None:
    if not given:
        return None
    patterns = []
    for one in given:
        name, equals, pattern = one.partition("=")
        if not equals:
            fail(f"--mask-pattern {one!r} needs a name and a pattern: NAME=PATTERN")
        patterns.append(MaskPattern(name.strip(), pattern))
    return patterns


def mask_preview(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="A sample message.")],
    mask_patterns: Annotated[
        list[str] | None,
        typer.Option(
            "--mask-pattern",
            metavar="NAME=PATTERN",
            help="A pattern of the company's own to try; repeat the option for several. "
            "Left out: card numbers only.",
        ),
    ] = None,
    no_mask_card_numbers: Annotated[
        bool, typer.Option("--no-mask-card-numbers", help="Try with card numbers not masked.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Print what masking keeps of a sample message, or why a pattern is refused (R22)."""
    from chatrec.services.admin.companies import try_masking

    with refusals():
        masked = try_masking(text, not no_mask_card_numbers, _mask_patterns(mask_patterns) or [])
    view = {
        "text": masked.text,
        "masked_card_numbers": masked.card_numbers,
        "masked_other_values": masked.other_values,
    }
    print_result(as_json, view, masked.text)


def template_preview(
    template: Annotated[
        str,
        typer.Argument(
            metavar="TEMPLATE", help="A filename template, such as {date}/{service}_{chat_id}."
        ),
    ],
    as_json: AsJson = False,
) -> None:
    """Print the name a sample chat's recording gets, or the template's problem (R6)."""
    from chatrec.services.admin.companies import preview_template

    try:
        preview = preview_template(template)
    except TemplateError as error:
        if as_json:
            refuse_json({"valid": False, "problem": error.problem, "position": error.position})
        fail_template(error)
    print_result(as_json, {"valid": True, "preview": preview}, preview)


def _key_view(key: PublicKey) -> dict[str, Any]:
    return key.to_json()


_KEYS: Table[dict[str, Any]] = Table(
    view=_as_is,
    columns=(
        Column("KEY", lambda view: view["key_id"]),
        Column("VALID FROM", lambda view: view["valid_from"]),
        Column("VALID UNTIL", lambda view: view["valid_until"] or "now (current)"),
    ),
    empty="no signing keys",
)


@company_app.command("keys")
def company_keys(
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the company's signing keys and when each was valid (R21); public, as the
    server publishes them."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        company_id = company_of(admin, acting, company)
        admin.companies.get(acting, company_id)
        views = [_key_view(key) for key in admin.companies.signing_keys(company_id)]
    print_table(views, as_json, _KEYS)


@company_app.command("rotate-key")
def company_rotate_key(
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start a new signing key now; the old one stays published, valid until now (R21).
    Audited."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        key = admin.companies.rotate_signing_key(acting, company_of(admin, acting, company))
    view = _key_view(key)
    print_result(
        as_json, view, f"new signing key {view['key_id']}, valid from {view['valid_from']}"
    )

"""Every text of both themes reads at WCAG AA (4.5:1) on what it is painted on: the style
sheet's rules (each rule's own text and background, and text on the panels it sits in), the
tables' P&L, muted and warning text on the table, its alternate rows, the selection and the
grouped rows, and each environment's chip. Disabled text is left out (WCAG exempts inactive
controls), as is the deliberately faded text of a stale row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gui.dialogs.flatten.common import FLATTEN_STYLE
from gui.models.style import ENV_COLOURS
from gui.theme import buttons
from gui.theme.contrast import AA_TEXT, contrast, luminance
from gui.theme.palettes import DARK, LIGHT, PALETTES, Palette

SHEET = Path(__file__).resolve().parents[3] / "resources" / "style.qss"
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_PROP = re.compile(r"([a-z-]+)\s*:\s*\$([a-z_0-9]+)")
EXEMPT = {"disabled_text", "danger_disabled_ink"}  # inactive controls

# Text that is painted on a panel its own rule does not colour (role of text, of background).
ON_PANELS = [
    ("notice_text", "guard_bg"), ("notice_text", "dust_bg"), ("notice_text", "notice_bg"),
    ("confirm_text", "bad_bg"), ("warn_text", "warn_bg"), ("warn_text", "guard_bg"),
    ("bad_text", "bad_bg"), ("bad_text", "invalid_bg"), ("text_2", "working_bg"),
    ("muted", "health_strip"), ("good_text", "surface"), ("text", "surface_alt"),
    ("text", "selection"), ("text_strong", "selection"), ("text", "control"),
    ("text_3", "control"), ("text", "window"), ("muted", "window"),
]
# The tables: what the models paint, on every background a row can have.
ROW_BACKGROUNDS = ["surface", "surface_alt", "selection", "group_header", "group_totals"]
TABLE_TEXT = ["profit", "loss", "table_muted", "table_warn", "unknown_ink", "text"]


def sheet_pairs(sheet: str | None = None) -> set[tuple[str, str]]:
    """(text, background) of each rule that sets both, and each text-only rule's text on the
    window and on the plain surface."""
    pairs: set[tuple[str, str]] = set()
    text = sheet if sheet is not None else SHEET.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for _, body in _RULE.findall(text):
        props = dict(_PROP.findall(body))
        ink = props.get("color")
        ground = props.get("background") or props.get("background-color")
        if "selection-color" in props:
            pairs.add((props["selection-color"], props["selection-background-color"]))
        if ink is None or ink in EXEMPT:
            continue
        if ground is not None:
            pairs.add((ink, ground))
        elif ink != "on_fill":
            pairs.update({(ink, "window"), (ink, "surface")})
    return pairs


def all_pairs() -> list[tuple[str, str]]:
    pairs = sheet_pairs() | sheet_pairs(FLATTEN_STYLE.template) | set(ON_PANELS)
    pairs |= {("secret_button_text", "warn_bg"), ("settings_error_text", "bad_bg")}
    pairs |= {(t, b) for t in TABLE_TEXT for b in ROW_BACKGROUNDS}
    pairs |= {(t, "mismatch_row") for t in ("text", "profit", "loss")}
    return sorted(pairs)


def test_the_formula_matches_the_standards_reference_points() -> None:
    assert luminance("#ffffff") == pytest.approx(1.0)
    assert luminance("#000000") == 0.0
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # just fails AA
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # just passes
    assert contrast("#ff0000", "#ffffff") == pytest.approx(contrast("#ffffff", "#ff0000"))


def test_the_sheet_is_read_and_every_placeholder_has_a_colour_in_both_palettes() -> None:
    pairs = sheet_pairs()
    assert len(pairs) > 30  # the rules were found, not silently skipped
    text = re.sub(r"/\*.*?\*/", "", SHEET.read_text(encoding="utf-8"), flags=re.S)
    used = set(re.findall(r"\$([a-z_0-9]+)", text))
    assert used <= set(LIGHT) and used <= set(DARK)
    assert set(LIGHT) == set(DARK)


@pytest.mark.parametrize("theme", sorted(PALETTES))
def test_every_text_reads_at_aa_on_its_background(theme: str) -> None:
    palette: Palette = PALETTES[theme]  # type: ignore[index]
    low = [(t, b, round(contrast(palette[t], palette[b]), 2)) for t, b in all_pairs()
           if contrast(palette[t], palette[b]) < AA_TEXT]
    assert not low, f"{theme}: below {AA_TEXT}:1: {low}"


@pytest.mark.parametrize("theme", sorted(PALETTES))
def test_pnl_colours_keep_their_meaning(theme: str) -> None:
    """Profit is green and loss is red in both themes: the hue, not only the contrast."""
    palette = PALETTES[theme]  # type: ignore[index]
    profit, loss = palette["profit"].lstrip("#"), palette["loss"].lstrip("#")
    pr, pg, _ = (int(profit[i:i + 2], 16) for i in (0, 2, 4))
    lr, lg, _ = (int(loss[i:i + 2], 16) for i in (0, 2, 4))
    assert pg > pr and lr > lg


def test_environment_chips_read_at_aa_and_are_the_same_in_both_themes() -> None:
    for env, (fill, ink) in ENV_COLOURS.items():
        assert contrast(fill, ink) >= AA_TEXT, env
    # The banners paint the same fills from the sheet: one colour per environment.
    for palette in (LIGHT, DARK):
        assert palette["danger_fill"] == ENV_COLOURS[next(e for e in ENV_COLOURS
                                                          if e.value == "live")][0]
        assert contrast(palette["demo_fill"], palette["demo_ink"]) >= AA_TEXT
        assert contrast(palette["info_fill"], palette["on_fill"]) >= AA_TEXT
        assert contrast(palette["danger_fill"], palette["on_fill"]) >= AA_TEXT


@pytest.mark.parametrize("theme", sorted(PALETTES))
def test_every_button_painted_in_a_cell_reads_at_aa(theme: str) -> None:
    """The Close and Cancel buttons in every state, and the residual badge: ink on fill."""
    cells = {**buttons.CLOSE[theme], **{f"cancel {k}": v for k, v in
                                        buttons.CANCEL[theme].items()},
             "badge": buttons.BADGE[theme]}
    assert set(buttons.CLOSE[theme]) == set(buttons.CLOSE["light"])
    low = {label: round(contrast(fill, ink), 2) for label, (fill, _, ink) in cells.items()
           if contrast(fill, ink) < AA_TEXT}
    assert not low, f"{theme}: below {AA_TEXT}:1: {low}"


def test_every_safety_banner_reads_at_aa_in_both_themes() -> None:
    """The banners are coloured in code, the same in both themes: their own ink on their own
    fill must read, whatever the window around them looks like."""
    from core.model import Environment
    from gui.models.style import (
        CONFIRMATIONS_OFF_LOOK,
        NOTICE_LOOK,
        SETTINGS_ERROR_LOOK,
        env_banner_look,
    )

    looks = {"settings error": SETTINGS_ERROR_LOOK, "confirmations off": CONFIRMATIONS_OFF_LOOK,
             "notice": NOTICE_LOOK, **{env.value: env_banner_look(env) for env in Environment}}
    for name, look in looks.items():
        assert contrast(look.ink, look.fill) >= AA_TEXT, (name, look)

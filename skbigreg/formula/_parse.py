"""Read fixest's multi-part syntax: ``y ~ x | fe1 + fe2 | endog ~ instruments``.

The parts are split here, at the ``|`` signs outside brackets, and each part
is then an ordinary formulaic formula (or a list of effect columns), so
statsmodels' syntax inside a part and fixest's syntax between parts do not
mix: a misplaced ``|`` is an error that names the part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class FormulaParts:
    """A formula split into its parts.

    ``main`` is ``"y ~ x1 + x2"``; ``effects`` the absorbed factors' columns;
    ``endogenous`` and ``instruments`` the two sides of the IV part
    (formulaic right-hand sides), empty strings without one.
    """

    text: str
    main: str
    effects: list = field(default_factory=list)
    endogenous: str = ""
    instruments: str = ""

    @property
    def has_iv(self):
        return bool(self.endogenous)


def split_parts(formula):
    """``formula`` cut at the ``|`` signs that are not inside brackets or quotes.

    >>> split_parts("y ~ x | fe | d ~ z")
    ['y ~ x', 'fe', 'd ~ z']
    """
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(formula):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(formula[start:i].strip())
            start = i + 1
    parts.append(formula[start:].strip())
    return parts


def parse_formula(formula, *, effects=False, iv=False, caller="ols"):
    """Split ``formula`` into the parts ``caller`` accepts, or raise ValueError.

    ``effects``: an absorbed-effects part ``| fe1 + fe2`` may follow the main
    part; ``iv``: the last part must be ``endog ~ instruments``.

    >>> parse_formula("y ~ x | firm | d ~ z", effects=True, iv=True, caller="iv")
    FormulaParts(text='y ~ x | firm | d ~ z', main='y ~ x', effects=['firm'], endogenous='d', instruments='z')
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x1 + x2', got {type(formula).__name__}.")
    parts = split_parts(formula)
    main = parts[0]
    if "~" not in main:
        raise ValueError(f"The formula {formula!r} has no '~': write 'y ~ x1 + x2'.")
    rest = parts[1:]
    if not (effects or iv) and rest:
        raise ValueError(
            f"{caller}() formulas have one part, but {formula!r} has {len(parts)} parts "
            "separated by '|'; absorbed effects are feols('y ~ x | fe'), instrumental "
            "variables iv('y ~ exog | endog ~ instruments')."
        )
    endogenous = instruments = ""
    if iv:
        if not rest:
            raise ValueError(
                f"The IV formula {formula!r} has no instrument part: write "
                "'y ~ exog | endog ~ instruments' (fixest's syntax)."
            )
        endogenous, instruments = _iv_part(rest.pop(), formula)
    for part in rest:
        if "~" in part:
            raise ValueError(
                f"The part {part!r} of {formula!r} has a '~' where absorbed effects "
                "('fe1 + fe2') are expected; the instrument part 'endog ~ instruments' "
                "comes last, and only iv() reads it."
            )
    if len(rest) > 1:
        raise ValueError(
            f"The formula {formula!r} has {len(rest)} effect parts between '|'; "
            "write every absorbed factor in one part: 'y ~ x | fe1 + fe2'."
        )
    names = _effect_names(rest[0], formula) if rest else []
    return FormulaParts(formula, main, names, endogenous, instruments)


def _iv_part(part, formula):
    sides = part.split("~")
    if len(sides) != 2 or not all(side.strip() for side in sides):
        raise ValueError(
            f"The instrument part {part!r} of {formula!r} must be 'endog ~ instruments' "
            "(one '~', both sides named); fixest's IV syntax is "
            "'y ~ exog | endog ~ instruments' or 'y ~ exog | fe | endog ~ instruments'."
        )
    return sides[0].strip(), sides[1].strip()


def _effect_names(part, formula):
    """Columns of an absorbed-effects part: plain column names joined by '+' ("0": none)."""
    if part.strip() == "0":
        return []
    names = [name.strip() for name in part.split("+")]
    bad = [name for name in names if not _NAME.match(name)]
    if bad:
        raise ValueError(
            f"The absorbed effects part {part!r} of {formula!r} must name columns joined "
            f"by '+' (e.g. 'firm + year'); {bad[0]!r} is not a column name."
        )
    return names

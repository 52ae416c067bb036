"""Linear restrictions ``R b = q`` from statsmodels' string syntax or matrices.

A small recursive-descent parser (no ``eval``) for restrictions such as
``"x1 = 1, x2 = x3"``, ``"2*x1 - x2 = 0"``, ``"(a + b)/2 = c"`` or ``"const"``
(``= 0`` implied), written over the model's parameter names:

    restrictions := restriction ("," restriction)*
    restriction  := sum ("=" sum)*          # "a = b = c" is two rows
    sum          := ["+"|"-"] product (("+"|"-") product)*
    product      := factor (("*"|"/") factor)*   # one side a constant
    factor       := number | name | "(" sum ")" | ("+"|"-") factor

Every expression is an affine form ``coef @ b + constant``; products of two
parameters, division by a parameter or by zero, unknown names and restrictions
that name no parameter raise :class:`ValueError` naming the problem.
"""

from __future__ import annotations

import re

import numpy as np

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WORD = re.compile(r"[^\s=,+\-*/()]+")
_OPERATORS = "=,+-*/()"


def restriction_matrix(r, names):
    """``(R, q)`` of the restrictions ``r`` on parameters called ``names``.

    Parameters
    ----------
    r : str, sequence of str, array-like of shape (m, p) or (p,), or (R, q)
        statsmodels' forms: a string of comma-separated restrictions, a list
        of such strings, a matrix ``R`` (``q = 0``) or a pair ``(R, q)``.
    names : sequence of str
        The parameter names, in the order of the parameters.

    Returns
    -------
    R : ndarray of shape (m, p)
    q : ndarray of shape (m,)

    Examples
    --------
    >>> R, q = restriction_matrix("a = 1, 2*b - c = 0", ["const", "a", "b", "c"])
    >>> R.tolist(), q.tolist()
    ([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, -1.0]], [1.0, 0.0])
    """
    names = [str(name) for name in names]
    if isinstance(r, str):
        rows = _parse(r, names)
    elif isinstance(r, (list, tuple)) and r and all(isinstance(s, str) for s in r):
        rows = [row for text in r for row in _parse(text, names)]
    elif isinstance(r, tuple) and len(r) == 2:
        return _from_arrays(r[0], r[1], len(names))
    else:
        return _from_arrays(r, None, len(names))
    R = np.array([coef for coef, _ in rows], dtype=np.float64).reshape(len(rows), len(names))
    q = np.array([value for _, value in rows], dtype=np.float64)
    return R, q


def _from_arrays(R, q, p):
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    if R.ndim != 2 or R.shape[0] == 0 or R.shape[1] != p:
        raise ValueError(
            f"The restriction matrix R must have shape (m, {p}) with m >= 1 (one column per "
            f"parameter); got shape {np.shape(R)}."
        )
    q = np.zeros(len(R)) if q is None else np.atleast_1d(np.asarray(q, dtype=np.float64)).ravel()
    if q.shape != (len(R),):
        raise ValueError(f"q must hold one value per row of R ({len(R)}); got {q.size}.")
    if not (np.isfinite(R).all() and np.isfinite(q).all()):
        raise ValueError("The restriction matrix R and values q must be finite.")
    return R, q


def _parse(text, names):
    """Rows ``(coef, value)`` of the restrictions in ``text``."""
    parser = _Parser(text, names)
    rows = []
    while True:
        rows.extend(parser.restriction())
        if not parser.accept(","):
            break
    parser.expect_end()
    if not rows:
        raise ValueError(f"The restriction {text!r} is empty.")
    return rows


class _Parser:
    """Recursive descent over the tokens of one restriction string."""

    def __init__(self, text, names):
        self.text, self.names = text, names
        self.index = {name: i for i, name in enumerate(names)}
        self.tokens = _tokenize(text, sorted(names, key=len, reverse=True))
        self.position = 0

    # -- tokens ---------------------------------------------------------------
    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def accept(self, operator):
        if self.peek() == ("op", operator):
            self.position += 1
            return True
        return False

    def fail(self, problem):
        raise ValueError(f"Cannot parse the restriction {self.text!r}: {problem}.")

    def expect_end(self):
        kind, value = self.peek()
        if kind != "end":
            self.fail(f"unexpected {value!r}")

    # -- grammar --------------------------------------------------------------
    def restriction(self):
        start = self.position
        sides = [self.sum()]
        while self.accept("="):
            sides.append(self.sum())
        if len(sides) == 1:  # "a + b" means "a + b = 0"
            sides.append((np.zeros(len(self.names)), 0.0))
        rows = []
        for (left, c_left), (right, c_right) in zip(sides, sides[1:]):
            coef = left - right
            if not coef.any():
                shown = " ".join(value for _, value in self.tokens[start:self.position])
                self.fail(f"{shown!r} names no parameter (or its parameters cancel)")
            rows.append((coef, c_right - c_left))
        return rows

    def sum(self):
        coef, constant = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            sign = 1.0 if self.tokens[self.position][1] == "+" else -1.0
            self.position += 1
            other, other_constant = self.product()
            coef, constant = coef + sign * other, constant + sign * other_constant
        return coef, constant

    def product(self):
        coef, constant = self.factor()
        while self.peek() in (("op", "*"), ("op", "/")):
            operator = self.tokens[self.position][1]
            self.position += 1
            other, other_constant = self.factor()
            if operator == "/":
                if other.any():
                    self.fail("division by a parameter is not linear")
                if other_constant == 0:
                    self.fail("division by zero")
                coef, constant = coef / other_constant, constant / other_constant
            elif coef.any() and other.any():
                self.fail("a product of two parameters is not linear")
            elif coef.any():
                coef, constant = coef * other_constant, constant * other_constant
            else:
                coef, constant = other * constant, other_constant * constant
        return coef, constant

    def factor(self):
        kind, value = self.peek()
        self.position += 1
        zero = np.zeros(len(self.names))
        if kind == "number":
            return zero, float(value)
        if kind == "name":
            if value not in self.index:
                self.fail(f"unknown parameter {value!r} (the parameters are {self.names})")
            zero[self.index[value]] = 1.0
            return zero, 0.0
        if (kind, value) in (("op", "+"), ("op", "-")):
            coef, constant = self.factor()
            return (coef, constant) if value == "+" else (-coef, -constant)
        if (kind, value) == ("op", "("):
            inner = self.sum()
            if not self.accept(")"):
                self.fail("missing ')'")
            return inner
        self.fail("expected a number, a parameter name or '('" + (f", got {value!r}" if value else " at the end"))


def _tokenize(text, names_longest_first):
    """``(kind, value)`` tokens; a parameter name may hold any character but ``,``/``=``."""
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        name = next((n for n in names_longest_first if text.startswith(n, i) and _ends_word(text, i + len(n))), None)
        if name is not None:
            tokens.append(("name", name))
            i += len(name)
            continue
        number = _NUMBER.match(text, i)
        if number and _ends_word(text, number.end()):
            tokens.append(("number", number.group()))
            i = number.end()
        elif text[i] in _OPERATORS:
            tokens.append(("op", text[i]))
            i += 1
        else:
            word = _WORD.match(text, i).group()
            tokens.append(("name", word))  # unknown: the parser names it
            i += len(word)
    return tokens


def _ends_word(text, end):
    """Whether a token ending at ``end`` is not cut out of a longer word."""
    return end == len(text) or text[end].isspace() or text[end] in _OPERATORS

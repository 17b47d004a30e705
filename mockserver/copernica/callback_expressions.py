"""Copernica callback expressions: the conditions a callback's record must meet.

The vendor's conditions are JavaScript (``company == 'Apple' && age >= 18``). The mock
understands a small, closed subset and evaluates it itself; nothing reaches an interpreter.
"""
from __future__ import annotations

import functools
import re

from mockserver.machinery.errors import InvalidRequest

# The subset the mock understands:
#
#   expression := or [';']
#   or         := and ('||' and)*
#   and        := equality ('&&' equality)*
#   equality   := relation (('==' | '!=' | '===' | '!==') relation)*
#   relation   := unary (('<' | '>' | '<=' | '>=') unary)*
#   unary      := ('!' | '-') unary | primary
#   primary    := number | string | true | false | null | field | '(' or ')'
#   field      := name | ('profile' | 'subprofile') '.' name

MAX_EXPRESSION = 2000  # characters
MAX_TOKENS = 400
MAX_DEPTH = 40  # nesting of parentheses and unary operators
RECORD_NAMES = ("profile", "subprofile")
CONSTANTS = {"true": True, "false": False, "null": None, "undefined": None}
FORBIDDEN_NAMES = frozenset("""
    constructor prototype __proto__ __defineGetter__ __defineSetter__ __lookupGetter__
    __lookupSetter__ this new function return var let const class delete typeof instanceof
    void in yield await import export eval Function globalThis arguments with debugger throw
    try catch finally if else for while do switch case break continue default super extends
""".split())

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||[<>!()\-.;])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _refuse(expression: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid callback expression {expression[:80]!r}: {reason}")


def _tokens(expression: str) -> list[tuple[str, object, int]]:
    """(kind, value, position) tokens; anything outside the subset is refused."""
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            char = expression[position]
            hint = {"=": "assignment is not allowed", "[": "indexing is not allowed",
                    "`": "template strings are not allowed", "+": "arithmetic is not allowed",
                    "*": "arithmetic is not allowed", "/": "arithmetic is not allowed",
                    "%": "arithmetic is not allowed", "?": "the ?: operator is not allowed",
                    ",": "commas are not allowed", "{": "object literals are not allowed",
                    "&": "use && (bitwise operators are not allowed)",
                    "|": "use || (bitwise operators are not allowed)"}.get(
                        char, f"unexpected character {char!r}")
            raise _refuse(expression, f"{hint} (at position {position})")
        kind = match.lastgroup
        text = match.group()
        position = match.end()
        if kind == "space":
            continue
        if kind == "number":
            value = float(text)
            tokens.append(("value", int(value) if value.is_integer() and abs(value) < 2**53
                           else value, match.start()))
        elif kind == "string":
            tokens.append(("value", _unescape(text[1:-1]), match.start()))
        elif kind == "name":
            if text in CONSTANTS:
                tokens.append(("value", CONSTANTS[text], match.start()))
            else:
                tokens.append(("name", text, match.start()))
        else:
            tokens.append(("op", text, match.start()))
        if len(tokens) > MAX_TOKENS:
            raise _refuse(expression, f"more than {MAX_TOKENS} tokens")
    return tokens


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


class _Parser:
    """Recursive descent over the tokens; builds a tuple tree."""

    def __init__(self, expression: str, tokens: list):
        self.expression, self.tokens, self.at, self.depth = expression, tokens, 0, 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", None, None)

    def take(self):
        token = self.peek()
        self.at += 1
        return token

    def fail(self, reason: str, token=None):
        token = token or self.peek()
        where = f" at position {token[2]}" if token[2] is not None else " at the end"
        return _refuse(self.expression, reason + where)

    def parse(self):
        tree = self.binary(0)
        if self.peek() == ("op", ";", self.peek()[2]):
            self.take()
        kind, value, _ = self.peek()
        if kind != "end":
            if kind == "op" and value == "(":
                raise self.fail("function calls are not allowed")
            raise self.fail(f"unexpected {value!r}")
        return tree

    LEVELS = (("||",), ("&&",), ("==", "!=", "===", "!=="), ("<", ">", "<=", ">="))

    def binary(self, level: int):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            operator = self.take()[1]
            left = (operator, left, self.binary(level + 1))
        return left

    def unary(self):
        kind, value, _ = self.peek()
        if kind == "op" and value in ("!", "-"):
            self.take()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return ("not" if value == "!" else "neg", operand)
        return self.primary()

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")

    def primary(self):
        token = self.take()
        kind, value, _ = token
        if kind == "value":
            return ("value", value)
        if kind == "op" and value == "(":
            self.enter()
            tree = self.binary(0)
            self.depth -= 1
            if self.take()[1] != ")":
                raise self.fail("missing ')'", self.tokens[self.at - 1] if self.at <= len(
                    self.tokens) else None)
            return tree
        if kind == "name":
            name = value
            if name in FORBIDDEN_NAMES:
                raise self.fail(f"{name!r} is not allowed", token)
            if self.peek()[1] == "." and self.peek()[0] == "op":
                if name not in RECORD_NAMES:
                    raise self.fail("property access is not allowed (only profile.<field> "
                                    "and subprofile.<field>)", token)
                self.take()
                kind, name, _ = field = self.take()
                if kind != "name" or name in FORBIDDEN_NAMES:
                    raise self.fail("a field name must follow 'profile.'", field)
                if self.peek()[1] == "." and self.peek()[0] == "op":
                    raise self.fail("property access chains are not allowed")
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                raise self.fail("function calls are not allowed")
            return ("field", name)
        if kind == "end":
            raise self.fail("the expression ends too early", token)
        raise self.fail(f"unexpected {value!r}", token)


@functools.lru_cache(maxsize=512)
def parse_expression(expression: str):
    """The syntax tree of a condition (None when empty); InvalidRequest when refused."""
    if not isinstance(expression, str):
        raise InvalidRequest("A callback expression must be text.")
    if len(expression) > MAX_EXPRESSION:
        raise _refuse(expression, f"longer than {MAX_EXPRESSION} characters")
    if not expression.strip():
        return None
    tokens = _tokens(expression)
    if not tokens or tokens == [("op", ";", tokens[0][2])]:
        return None
    return _Parser(expression, tokens).parse()


def evaluate(expression: str, fields: dict) -> bool:
    """Whether a condition holds for a record's fields (an empty condition always does)."""
    tree = parse_expression(expression or "")
    if tree is None:
        return True
    lowered = {str(k).lower(): v for k, v in fields.items()}
    return _truthy(_eval(tree, fields, lowered))


def _eval(tree, fields: dict, lowered: dict):
    op = tree[0]
    if op == "value":
        return tree[1]
    if op == "field":
        name = tree[1]
        return fields[name] if name in fields else lowered.get(name.lower())
    if op == "not":
        return not _truthy(_eval(tree[1], fields, lowered))
    if op == "neg":
        return -_number(_eval(tree[1], fields, lowered))
    if op == "&&":
        left = _eval(tree[1], fields, lowered)
        return _eval(tree[2], fields, lowered) if _truthy(left) else left
    if op == "||":
        left = _eval(tree[1], fields, lowered)
        return left if _truthy(left) else _eval(tree[2], fields, lowered)
    left, right = _eval(tree[1], fields, lowered), _eval(tree[2], fields, lowered)
    if op == "==":
        return _loose_equal(left, right)
    if op == "!=":
        return not _loose_equal(left, right)
    if op == "===":
        return _strict_equal(left, right)
    if op == "!==":
        return not _strict_equal(left, right)
    if isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        a, b = _number(left), _number(right)
        if a != a or b != b:  # NaN: every comparison is false
            return False
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _truthy(value) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


def _number(value) -> float:
    """JavaScript's Number(value)."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _loose_equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return _number(left) == _number(right)


def _strict_equal(left, right) -> bool:
    def kind(value):
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        return "number" if isinstance(value, (int, float)) else "string"
    if kind(left) != kind(right):
        return False
    return _number(left) == _number(right) if kind(left) == "number" else left == right

"""Broken specs on demand: mutations of the bundled specs, and the rule every case must satisfy.

Used by tests/test_fuzz.py (a few hundred cases in every CI run) and bench/fuzz.py (a campaign of
tens of thousands).
"""

from __future__ import annotations

import random
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from paramcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "specs").rglob("*.yaml")) + sorted((ROOT / "tests" / "data" / "more_models").glob("*.yaml"))

VALUES = ["[1, 2]", "{a: 1}", '"text"', "-5", "0", "1e400", "~", "true", "x" * 80, "3.5", '"2 ** 1000"',
          "\"__import__('os').system('true')\"", "[]", "{}", "99999", "1000000000000", "-0", ".nan", "'a.b'",
          "!!python/object/apply:os.system ['true']", "*missing_alias", "&anchor 3", "'1e6'", "25M", "0x10",
          "[[[[[]]]]]", "'}'", "\"\\u0000\"", "'same'", "depthwise", "input", "'planes * 4'", "12/0"]
UNICODE = ["é", "\u200b", "\ufeff", "\u202e", "😀", "\u0000", "\x1b[31m", "\t", "\r", "ﬁ", "𝟙"]
KEY_VALUE = re.compile(r"(\w+):[ \t]*([^,{}\[\]\n]+)")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random mutation of a spec's text: (what was done, the new text)."""
    lines = _lines(text)
    kind = rng.choice(["delete line", "truncate", "swap value", "indent", "duplicate line", "unicode",
                       "swap lines", "rename", "binary", "empty", "delete key", "number"])
    index = rng.randrange(len(lines))
    if kind == "delete line":
        del lines[index]
    elif kind == "truncate":
        return kind, text[:rng.randrange(len(text) + 1)]
    elif kind in ("swap value", "number", "delete key"):
        matches = list(KEY_VALUE.finditer(text))
        if not matches:
            return "empty", ""
        match = rng.choice(matches)
        if kind == "delete key":
            return kind, text[:match.start()] + text[match.end():]
        value = rng.choice(VALUES) if kind == "swap value" else str(rng.choice([0, -1, 1, 2, 3, 7, 10**9, 10**30]))
        return f"{kind} {match.group(1)}", text[:match.start(2)] + value + text[match.end(2):]
    elif kind == "indent":
        if rng.random() < 0.5:
            lines[index] = " " * rng.randint(1, 3) + lines[index]
        else:
            lines[index] = lines[index][rng.randint(1, 3):]
    elif kind == "duplicate line":
        lines.insert(index, lines[index])
    elif kind == "unicode":
        position = rng.randrange(len(text) + 1)
        return kind, text[:position] + rng.choice(UNICODE) + text[position:]
    elif kind == "swap lines":
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "rename":
        names = re.findall(r"name: (\w+)", text)
        if names:
            return kind, text.replace(rng.choice(names), rng.choice(names + ["nothere", "input"]), 1)
    elif kind == "binary":
        return kind, bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))).decode("latin-1")
    elif kind == "empty":
        return kind, ""
    return kind, "\n".join(lines)


@dataclass
class Case:
    seed_spec: str
    mutation: str
    text: str


@dataclass
class Failure:
    case: Case
    problem: str


LOCATED = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): ")
FILE_LEVEL = ("the file is empty", "the file is not UTF-8", "larger than")


def check_case(case: Case, directory: Path, arguments: tuple[str, ...] = ("--format", "json")) -> str | None:
    """None when paramcalc handled the case as promised; otherwise what went wrong."""
    path = directory / "spec.yaml"
    path.write_bytes(case.text.encode("utf-8", "surrogatepass"))
    try:
        result = CliRunner().invoke(main, ["show", str(path), *arguments])
    except Exception:  # CliRunner catches SystemExit; anything else escaped paramcalc
        return "exception escaped: " + traceback.format_exc(limit=3)
    output = result.output
    if "Traceback" in output or result.exit_code not in (0, 2):
        return f"exit {result.exit_code}: {output[-600:]}"
    if result.exit_code == 2:
        message = result.stderr
        if not message.startswith(f"error: {path}"):
            return f"the message does not name the file: {message[:300]}"
        if not LOCATED.match(message) and not any(text in message for text in FILE_LEVEL):
            return f"the message has no line: {message[:300]}"
        if sum(line.startswith("error:") for line in message.splitlines()) != 1:
            return f"not exactly one message: {message[:300]}"
    return None


# comment lines that make a spec long (16,000 characters and more): long lines of comments and values take
# other paths through the plain YAML reader than a short spec does
LONG_PADDING = "".join(f"# line {i} of a long spec: the plain YAML reader reads it, or declines it\n" for i in range(250))


def cases(count: int, seed: int, long: bool = False) -> list[Case]:
    """Mutated bundled specs; `long` pads each with comment lines past 16,000 characters."""
    rng = random.Random(seed)
    texts = {str(path.relative_to(ROOT)): path.read_text() + (LONG_PADDING if long else "") for path in SEEDS}
    result = []
    for _ in range(count):
        name = rng.choice(sorted(texts))
        text = texts[name]
        applied = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            what, text = mutate(text, rng)
            applied.append(what)
        result.append(Case(name, " + ".join(applied), text))
    return result

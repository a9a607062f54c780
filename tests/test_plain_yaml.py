"""The plain-subset reader (paramcalc/plain_yaml.py) against libyaml's: whenever it reads a text, the values,
their types and every position are the ones libyaml's composer gives; whatever else it declines. Compared
on every bundled spec, on generated documents (clean ones, which it must read, and ones full of YAML's
traps) and on mutated specs."""

from __future__ import annotations

import os
import random
import re
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from paramcalc import plain_yaml
from paramcalc.cli import main
from paramcalc.errors import SpecError
from paramcalc.plain_yaml import read_plain
from paramcalc.libyaml_reader import read_with_libyaml
from paramcalc.source import YList, YMap, marks_of
from tests.fuzzing import SEEDS, mutate

sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
# CI runs a few hundred documents of each kind; PARAMCALC_FUZZ_SCALE=50 makes a campaign of it
SCALE = int(os.environ.get("PARAMCALC_FUZZ_SCALE", "1"))


def difference(fast, reference, path="$"):
    """Where two read values differ (type, value, key order or a position), or None."""
    if type(fast) is not type(reference):
        return f"{path}: {type(fast).__name__} != {type(reference).__name__}"
    if isinstance(fast, (YMap, YList)):
        if marks_of(fast) != marks_of(reference):
            return f"{path}: positions {marks_of(fast)} != {marks_of(reference)}"
        if isinstance(fast, YMap):
            if list(fast) != list(reference):
                return f"{path}: keys {list(fast)} != {list(reference)}"
            pairs = [(f"{path}.{key}", fast[key], reference[key]) for key in fast]
        else:
            if len(fast) != len(reference):
                return f"{path}: {len(fast)} items != {len(reference)}"
            pairs = [(f"{path}[{index}]", *items) for index, items in enumerate(zip(fast, reference))]
        for where, one, other in pairs:
            found = difference(one, other, where)
            if found:
                return found
        return None
    return None if fast == reference else f"{path}: {fast!r} != {reference!r}"


def check_agrees(text):
    """The rule: read by both and equal, or declined. Returns whether the plain reader read the text."""
    fast = read_plain(text)
    if fast is None:
        return False
    try:
        reference = read_with_libyaml(text)
    except SpecError as err:
        raise AssertionError(f"the plain reader read a text libyaml refuses ({err.message}):\n{text}") from None
    found = difference(fast, reference)
    assert found is None, f"{found}\n{text}"
    return True


@pytest.mark.parametrize("path", SEEDS, ids=lambda path: path.name)
def test_every_bundled_spec_is_read_as_libyaml_reads_it(path):
    assert check_agrees(path.read_text(encoding="utf-8")), "a bundled spec is in the plain subset"


def test_lines_past_the_limit_of_kept_shapes_are_read_alike(monkeypatch):
    """Past _MAX_PLANS shapes each line is read token by token: the same values and positions."""
    monkeypatch.setattr(plain_yaml, "_MAX_PLANS", 0)
    for path in SEEDS:
        assert check_agrees(path.read_text(encoding="utf-8")), path


def test_characters_outside_ascii_in_comments_are_read_in_linear_time():
    text = "a: 1  # " + "é" * 300_000 + "\n# ×·\nb: [1, 2]  # 7·32\n"
    assert check_agrees(text)  # each line is looked at once: a long comment line does not make it quadratic
    assert read_plain("a: é  # é\n") is None  # outside a comment: declined


# --- generated documents ---------------------------------------------------------------------------------
CLEAN_SCALARS = ["relu", "64", "0", "-1", "3", "planes * expansion", "2 if index == 0 else 1", "index == 0",
                 "~", "null", "true", "off", "1_000", "007", "0x40", "1e6", "25.6M", "(c + 1) // 2", "a.b",
                 "x-y", "~x", "+5", "conv2d", "input", "layer3.2"]
CLEAN_KEYS = ["name", "out", "kernel", "stride", "from", "layers", "a", "b1", "conv2d", "x_y", "1", "n.m"]
# what makes YAML mean something else, or makes it an error
TRAPS = ["a: b", "a:b", "a #b", "a#b", "'q'", '"d"', "'it''s'", '"e\\n"', "it's", "*x", "&a x", "!t x", "!!str 1",
         "[", "]", "{", "}", "{}", "[]", ",", "- a", "-", "? a", "%x", "@x", "`x", "| x", "> x", "x:", ":x", "é",
         "\t", "x\ty", "---", "...", "<<", "a, b", "[a, b]", "{a: 1}", "#", " ", "", "'", '"', "a  b", "-.5"]


def scalar(traps: bool):
    words = st.sampled_from(CLEAN_SCALARS)
    return st.one_of(words, st.sampled_from(TRAPS)) if traps else words


def tree(traps: bool):
    keys = st.one_of(st.sampled_from(CLEAN_KEYS), st.sampled_from(TRAPS)) if traps else st.sampled_from(CLEAN_KEYS)
    leaves = st.one_of(scalar(traps), st.none())
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(st.tuples(keys, inner), max_size=4)), max_leaves=14)


class Writer:
    """Writes a tree as YAML, every choice of style drawn: block or flow, indentation, spaces, comments."""

    def __init__(self, draw, traps: bool) -> None:
        self.draw, self.traps = draw, traps

    def space(self) -> str:
        return self.draw(st.sampled_from(["", " ", "  "] if self.traps else ["", " "]))

    def comment(self) -> str:
        return self.draw(st.sampled_from(["", "", "  # note", " #x", " # a: [b, {c"]))

    def flow(self, value) -> str:
        if value is None:
            return self.draw(st.sampled_from(["", "~"]))
        if isinstance(value, str):
            return value
        sep = "," + self.draw(st.sampled_from([" ", "", "  "]))
        if isinstance(value, list) and (not value or not isinstance(value[0], tuple)):
            body = sep.join(self.flow(item) for item in value)
            return "[" + self.space() + body + (self.draw(st.sampled_from(["", ","])) if value else "") + "]"
        pairs = [key if item is None and self.draw(st.booleans()) else f"{key}:{' ' + self.space()}{self.flow(item)}"
                 for key, item in (value if isinstance(value, list) else [])]
        return "{" + self.space() + sep.join(pairs) + self.space() + "}"

    def block(self, value, indent: int) -> list[str]:
        """Lines for a value that stands below its key or dash, at `indent`."""
        step = self.draw(st.integers(1, 4))
        pad = " " * indent
        lines = []
        if isinstance(value, list) and value and isinstance(value[0], tuple):
            for key, item in value:
                lines += self.entry(pad + key + self.space() + ":", item, indent, step)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, list) and item and isinstance(item[0], tuple) and self.draw(st.booleans()):
                    inner = self.block(item, indent + 2)  # '- key: value' with the mapping on the dash's line
                    lines += [pad + "- " + inner[0].lstrip(" ")] + inner[1:]
                else:
                    lines += self.entry(pad + "-", item, indent, step)
        else:
            lines.append(pad + self.flow(value) + self.comment())
        return lines

    def entry(self, head: str, item, indent: int, step: int) -> list[str]:
        if isinstance(item, list) and item and self.draw(st.booleans()):
            # a list under a key may stand at the key's own indentation
            indentless = head.endswith(":") and not isinstance(item[0], tuple) and self.draw(st.booleans())
            below = indent if indentless else indent + step
            return [head + self.comment()] + self.draw(st.sampled_from([[], ["", "  # between"]])) + \
                self.block(item, below)
        return [head + " " + self.space() + self.flow(item) + self.comment()]


def document(traps: bool):
    @st.composite
    def build(draw):
        root = draw(st.lists(st.tuples(st.sampled_from(CLEAN_KEYS), tree(traps)), min_size=1, max_size=5))
        lines = Writer(draw, traps).block(root, draw(st.sampled_from([0, 0, 1])))
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["# a comment", "", "   "])))
        return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
    return build()


@settings(max_examples=300 * SCALE, deadline=None)
@given(document(traps=False))
def test_clean_documents_are_read_as_libyaml_reads_them(text):
    """Documents of the subset itself: every one libyaml reads is read the same, none declined."""
    try:
        read_with_libyaml(text)
    except SpecError:
        return  # a key given twice (the generator does not avoid it), which the plain reader declines
    assert check_agrees(text), text


@settings(max_examples=400 * SCALE, deadline=None)
@given(document(traps=True))
def test_documents_with_yaml_traps_are_read_as_libyaml_reads_them_or_declined(text):
    check_agrees(text)


@settings(max_examples=1000 * SCALE, deadline=None)
@given(st.text(alphabet="ab1 -:#,[]{}'\"\n~*&!|>?é\t.", max_size=40))
def test_any_short_text_is_read_as_libyaml_reads_it_or_declined(text):
    check_agrees(text)


def test_mutated_specs_are_read_as_libyaml_reads_them_or_declined():
    rng = random.Random(7)
    texts = [path.read_text(encoding="utf-8") for path in SEEDS]
    read = 0
    for _ in range(1000 * SCALE):
        _, text = mutate(rng.choice(texts), rng)
        read += check_agrees(text)
    assert read > 200 * SCALE  # most mutations stay in the subset; the comparison is not vacuous


# --- through the command ---------------------------------------------------------------------------------
def spec_with(bad_line: str, layers: int) -> str:
    lines = ["name: long", "input: [3, 32, 32]", "layers:"]
    lines += [f"  - {{name: c{i}, conv2d: {{out: 8, kernel: 3, padding: 1}}}}" for i in range(layers)]
    return "\n".join([*lines, bad_line, ""])


@pytest.mark.parametrize("bad_line", [
    "  - {name: bad, conv2d: {out: 8, kernal: 3}}",
    "  - {name: bad, conv2d: {out: 0, kernel: 3}}",
    "  - {name: bad, add, from: [c0, nowhere]}",
    "  - {name: bad, add, from: [c0, {a: b}]}",
    "  - {name: bad, conv2d: {out: 8, kernel: 3}, repeat: -1}",
    "  - {name: bad, conv2d: {out: 8, kernel: 3}, if: 1 +}",
    "  - {name: bad, conv2d: {out: 8, kernel: [3, [1]]}}",
    "  - {name: bad, conv2d: {out: 8, kernel: 3}, frozen: 1}",
    "  - {name: c0, relu}",
])
def test_a_mistake_is_reported_alike_by_both_readers(tmp_path, monkeypatch, bad_line):
    """A spec in the plain subset is read by the plain reader; the same spec read by libyaml (the plain reader
    made to decline) gets the same message, at the same line and column, whatever its length."""
    for layers in (1, 400):
        text = spec_with(bad_line, layers)
        assert read_plain(text) is not None
        path = tmp_path / "spec.yaml"
        path.write_text(text)
        messages = []
        for declining in (False, True):
            if declining:
                monkeypatch.setattr(plain_yaml, "read_plain", lambda text: None)
            result = CliRunner().invoke(main, ["show", str(path)])
            assert result.exit_code == 2, result.output
            line, column, message = re.search(r"spec\.yaml:(\d+):(\d+): (.*)", result.stderr, re.S).groups()
            assert int(line) == layers + 4
            messages.append((column, message.splitlines()[0]))  # the hint may list the names above
        monkeypatch.undo()
        assert messages[0] == messages[1]


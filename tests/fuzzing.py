"""Broken and hostile specs on demand: mutations of the bundled specs, and the rule every case must satisfy.

Besides mistakes (deleted lines, swapped values, unicode, junk), the mutations include the classes of attack
a spec from a stranger can carry: huge numbers and exponents, YAML aliases that fan out, YAML 1.1's number
spellings, repeats over merges of many inputs, hostile model names through `export`, and paths that are
not regular files. Every case must be answered within MAX_SECONDS, raise the peak memory by at most
MAX_GROWTH_KB, and exit 0 or 2 with one located message. Used by tests/test_fuzz.py (a few hundred cases
in every CI run) and bench/fuzz.py (tens of thousands).
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import resource
import time
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
          "[[[[[]]]]]", "'}'", "\"\\u0000\"", "'same'", "depthwise", "input", "'planes * 4'", "12/0",
          '"cfg[0]"', '"len(x)"', '"x.y"', '"[1][5]"', '"(1).real"', '"f\'{1}\'"', '"lambda: 1"', '"x[::-1]"']
UNICODE = ["é", "\u200b", "\ufeff", "\u202e", "😀", "\u0000", "\x1b[31m", "\t", "\r", "ﬁ", "𝟙"]
KEY_VALUE = re.compile(r"(\w+):[ \t]*([^,{}\[\]\n]+)")
# huge and tiny numbers, as YAML scalars and as expressions: each must be refused (or read) at once
HUGE = ["1e99999999", "1.0e+99999999", "-1e-99999999", "1" * 4301, "9" * 41, "0x" + "f" * 60, "1e31", "1e-31",
        '"round(1, -100000000)"', '"round(1/3, 1000000000)"', '"ceil(1e-99999999)"', '"2 ** 64 ** 2"',
        '"(1/3) ** 64"', '"1e-30 ** 64"', '"10 ** 30 * 10"', '"25T * 1T"', '"0.' + "3" * 38 + '"', '"1e30k"',
        '"' + "1" * 999 + '"', '"' + "(" * 300 + "1" + ")" * 300 + '"', '"' + "-" * 500 + '1"']
# YAML 1.1's ways to write a number (octal, hexadecimal, binary, base 60, underscores, signs, floats)
YAML_NUMBERS = ["010", "0100", "064", "0_64", "!!int 010", "0o10", "0x40", "0b101", "1:30", "190:20:30", "1_000",
                "+64", "-0", "+0", "00", "1.5e+3", "1.5e3", ".5", "+.5", "1_0.5", ".inf", "-.inf", ".nan", "1:30.5",
                "0.", "08", "0x_40", "0b_1", "!!float 3", "!!int 0x10"]
# model names that would break out of a string or a comment in generated source
HOSTILE_NAMES = ['x"""; __import__("os").system("touch PWN"); """', "x'''; import os; '''", "a\\nb",
                 "a\nimport os", "# comment", "\\", '"', "'", "é😀\u202e", 'x\\"""', "None", "class", "1abc", "a\r\nb",
                 "\\N{BULLET}", "x\x1b[31m"]
FILE_KINDS = ["fifo", "directory", "device", "sparse"]
MUTATIONS = ["delete line", "truncate", "swap value", "indent", "duplicate line", "unicode", "swap lines", "rename",
             "binary", "empty", "delete key", "number", "huge", "yaml number", "alias fan-out", "fan-in"]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random mutation of a spec's text: (what was done, the new text)."""
    lines = text.split("\n")
    kind = rng.choice(MUTATIONS)
    index = rng.randrange(len(lines))
    if kind == "delete line":
        del lines[index]
    elif kind == "truncate":
        return kind, text[:rng.randrange(len(text) + 1)]
    elif kind in ("swap value", "number", "delete key", "huge", "yaml number"):
        matches = list(KEY_VALUE.finditer(text))
        if not matches:
            return "empty", ""
        match = rng.choice(matches)
        if kind == "delete key":
            return kind, text[:match.start()] + text[match.end():]
        choices = {"swap value": VALUES, "huge": HUGE, "yaml number": YAML_NUMBERS}.get(kind)
        value = rng.choice(choices) if choices else str(rng.choice([0, -1, 1, 2, 3, 7, 10**9, 10**30]))
        return f"{kind} {match.group(1)}", text[:match.start(2)] + value + text[match.end(2):]
    elif kind == "alias fan-out":
        return kind, _with_vars(text, _aliases(rng))
    elif kind == "fan-in":
        inputs, count = rng.choice([2, 100, 1000]), rng.choice([10, 1000, 10000, 100000])
        merge = rng.choice(["add", "concat", "mul"])
        layer = f"  - {{name: fan, repeat: {count}, layers: [{{{merge}: null, from: [{', '.join(['input'] * inputs)}]}}]}}"
        return kind, re.sub(r"^layers:", lambda _: "layers:\n" + layer, text, count=1, flags=re.M)
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


# what an anchored list holds: a number, or expressions that take arithmetic on fractions to evaluate
ALIASED = ["1", '"2 ** 60 * 3 / 7"', '"make_divisible(2 ** 60 / 7, 8)"', '"max(3, 5) // 2 + 1e3"']


def _aliases(rng: random.Random) -> list[str]:
    """An anchored list of numbers or expressions, then levels of lists of aliases to the level below ('billion
    laughs' and its kin), or many vars that each alias it (each value evaluates it again)."""
    size, uses, depth = rng.choice([10, 1000, 20000]), rng.choice([10, 500, 999, 1001]), rng.randint(1, 4)
    lines = [f"  a0: &a0 [{', '.join([rng.choice(ALIASED)] * size)}]"]
    if rng.random() < 0.5:
        lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * uses)}]" for i in range(1, depth)]
    else:
        lines += [f"  b{i}: *a0" for i in range(uses)]
    return lines


def _with_vars(text: str, entries: list[str]) -> str:
    block = "\n".join(entries)
    if re.search(r"^vars:\s*$", text, flags=re.M):
        return re.sub(r"^vars:\s*$", lambda _: "vars:\n" + block, text, count=1, flags=re.M)
    return re.sub(r"^layers:", lambda _: "vars:\n" + block + "\nlayers:", text, count=1, flags=re.M)


@dataclass
class Case:
    seed_spec: str
    mutation: str
    text: str
    file_kind: str = ""  # a path that is not a regular file: fifo, directory, device, sparse
    command: str = "show"  # 'export' for a hostile model name


LOCATED = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): ")
FILE_LEVEL = ("the file is empty", "the file is not UTF-8", "larger than", "not a regular file")
MAX_SECONDS = 2.0  # every case is answered within this (bench/fuzz.py; the test suite only guards against hangs)
MAX_GROWTH_KB = 200_000  # and raises the process's peak memory by at most this


def _special_file(kind: str, directory: Path) -> Path:
    path = directory / f"special-{kind}"
    if kind == "fifo":
        if not path.exists():
            os.mkfifo(path)
    elif kind == "directory":
        path.mkdir(exist_ok=True)
    elif kind == "device":
        return Path("/dev/zero")
    else:  # a sparse file of 1.5 GB: it uses no disk, but reading it would take gigabytes of memory
        with open(path, "wb") as handle:
            handle.truncate(1_500_000_000)
    return path


def check_case(case: Case, directory: Path, arguments: tuple[str, ...] = ("--format", "json"),
               max_seconds: float = MAX_SECONDS) -> str | None:
    """None when paramcalc handled the case as promised; otherwise what went wrong."""
    if case.file_kind:
        path = _special_file(case.file_kind, directory)
    else:
        path = directory / "spec.yaml"
        path.write_bytes(case.text.encode("utf-8", "surrogatepass"))
    command = ["show", str(path), *arguments] if case.command == "show" else ["export", str(path)]
    if case.command == "export":
        import torch  # noqa: F401  (export imports PyTorch once: its time and memory are not the case's)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        result = CliRunner().invoke(main, command)
    except Exception:  # CliRunner catches SystemExit; anything else escaped paramcalc
        return "exception escaped: " + traceback.format_exc(limit=3)
    seconds = time.perf_counter() - started
    if seconds > max_seconds:
        return f"took {seconds:.1f} s"
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    if growth > MAX_GROWTH_KB:
        return f"raised the peak memory by {growth // 1000} MB"
    output = result.output
    if "Traceback" in output or result.exit_code not in (0, 2):
        return f"exit {result.exit_code}: {output[-600:]}"
    if case.command == "export" and result.exit_code == 0:
        return check_export(result.stdout, case.text)
    if result.exit_code == 2:
        message = result.stderr
        if case.file_kind == "directory" and "is a directory" in message:
            return None  # click's own check of the argument, before paramcalc reads anything
        if not message.startswith(f"error: {path}"):
            return f"the message does not name the file: {message[:300]}"
        if not LOCATED.match(message) and not any(text in message for text in FILE_LEVEL):
            return f"the message has no line: {message[:300]}"
        if sum(line.startswith("error:") for line in message.splitlines()) != 1:
            return f"not exactly one message: {message[:300]}"
    return None


def check_export(source: str, spec_text: str) -> str | None:
    """An exported module is what paramcalc meant and nothing more: a docstring, imports, helper classes, the
    model class and three assignments; a text from the spec reaches the code only inside string literals."""
    try:
        module = ast.parse(source)
    except SyntaxError as err:
        return f"export wrote source that does not parse: {err}"
    body = module.body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
        return "export wrote no docstring first"
    assigned = []
    for statement in body[1:]:
        if not isinstance(statement, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.Assign)):
            return f"export wrote a {type(statement).__name__} statement at line {statement.lineno}"
        if isinstance(statement, ast.Assign):
            assigned += [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if assigned != ["MODEL", "INPUT_SHAPE", "SPEC"]:
        return f"export assigned {assigned}"
    spec = body[-1]
    if not (isinstance(spec, ast.Assign) and isinstance(spec.value, ast.Constant) and spec.value.value == spec_text):
        return "the SPEC in the exported module is not the spec's text"
    return None


# comment lines that make a spec long (16,000 characters and more)
LONG_PADDING = "".join(f"# line {i} of a long spec: comments and values far from the start\n" for i in range(250))


def hostile_name(text: str, name: str) -> str:
    """The spec with its model name replaced by `name`, written as a YAML double-quoted string."""
    quoted = '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in name) + '"'
    return re.sub(r"^name: .*$", lambda _: f"name: {quoted}", text, count=1, flags=re.M)


def cases(count: int, seed: int, long: bool = False, exports: bool = True) -> list[Case]:
    """Mutated bundled specs; `long` pads each with comment lines past 16,000 characters. One case in 50 is a
    path that is not a regular file; with `exports` (PyTorch installed), one in 25 a hostile model name
    through `export`."""
    rng = random.Random(seed)
    texts = {str(path.relative_to(ROOT)): path.read_text() + (LONG_PADDING if long else "") for path in SEEDS}
    result = []
    for _ in range(count):
        name = rng.choice(sorted(texts))
        text = texts[name]
        roll = rng.random()
        if roll < 0.02:
            kind = rng.choice(FILE_KINDS)
            result.append(Case(name, f"file {kind}", "", file_kind=kind))
            continue
        if exports and roll < 0.06:
            result.append(Case(name, "export name", hostile_name(text, rng.choice(HOSTILE_NAMES)), command="export"))
            continue
        applied = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            what, text = mutate(text, rng)
            applied.append(what)
        result.append(Case(name, " + ".join(applied), text))
    return result


def alias_cases(count: int, seed: int) -> list[Case]:
    """The alias mutation alone on the bundled specs: lists of numbers and expressions that aliases fan out."""
    rng = random.Random(seed)
    texts = {str(path.relative_to(ROOT)): path.read_text() for path in SEEDS}
    names = [rng.choice(sorted(texts)) for _ in range(count)]
    return [Case(name, "alias fan-out", _with_vars(texts[name], _aliases(rng))) for name in names]


# --- the command line's values, baseline reports and file names ---------------------------------------------
PLAIN_SPEC = "name: from_the_file\ninput: [3, 16, 16]\nlayers: [{conv2d: {out: 8, kernel: 3, padding: 1}}, relu]\n"
COUNT_LIMITS = ["--max-params", "--max-trainable", "--max-macs", "--max-flops", "--max-train-flops"]
MEMORY_LIMITS = ["--max-param-memory", "--max-activation-memory", "--max-train-memory"]
ERROR_LINE = re.compile(r"^(error|Error): ", re.M)


def number_text(rng: random.Random) -> str:
    """A number as a stranger types it: long, zero-padded, signed, with an exponent, a suffix or a unit, in other
    scripts' digits, or not a number at all."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 10, 11, 41, 4301, 5000])))
    return rng.choice([
        digits, "0" * rng.choice([1, 10, 5000]) + digits[:3], "-" + digits, "+" + digits, digits + "." + digits[:3],
        "1e" + digits, "1e-" + digits, digits[:4] + rng.choice(["k", "M", "G", "T", "MB", "GiB", "%", "x", "e"]),
        "0x" + digits[:8], "1_000", "\u00b2", "\u0661\u0662", "\uff11\uff12", " 8 ", "", "inf", "nan", "-0",
        "8\u200b", "H", "W", "_", "8" * 10, "1" + "0" * 9, "1" + "0" * 9 + "1",
    ])


def option_arguments(rng: random.Random) -> list[str]:
    """One command with a generated value for --input, --at, --batch or a --max-* limit (the spec goes second)."""
    def joined(separator: str, count: int) -> str:
        return separator.join(number_text(rng) for _ in range(count))

    return rng.choice([
        lambda: ["show", "--input", joined(rng.choice(["x", "X", " x "]), rng.randint(1, 4))],
        lambda: ["show", "--input", "3xHxW", "--at", ",".join(joined("x", 2) for _ in range(rng.randint(1, 3)))],
        lambda: ["show", "--batch", joined(",", rng.randint(1, 3))],
        lambda: [rng.choice(["compare", "explain"]), "--batch", number_text(rng)],
        lambda: ["check", "--input", joined("x", 3)],
        lambda: ["check", rng.choice(COUNT_LIMITS), number_text(rng)],
        lambda: ["check", rng.choice(MEMORY_LIMITS), number_text(rng) + rng.choice(["", "B", "KB", "MB", "GiB", "TB"])],
        lambda: ["check", "--baseline", "baseline.json", "--max-increase", number_text(rng) + rng.choice(["", "%"])],
    ])()


def _one_message(result, *names: str) -> str | None:
    """None when the output is a result, or exactly one error message (on standard error) that names one of
    `names` (the file, or the option that is wrong); otherwise what is wrong with it."""
    output = result.output
    if "Traceback" in output or "internal error" in output or result.exit_code not in (0, 1, 2):
        return f"exit {result.exit_code}: {output[-600:]}"
    if result.exit_code == 2:
        message = result.stderr
        if len(ERROR_LINE.findall(message)) != 1:
            return f"not exactly one message: {message[:300]}"
        if not any(name in message for name in names):
            return f"the message names none of {names}: {message[:300]}"
    return None


def check_option(words: list[str], directory: Path) -> str | None:
    """None when paramcalc answered a command with generated option values as promised; otherwise what went
    wrong. A size of --input, --at or --batch is quoted shortened, never all its digits."""
    spec, baseline = directory / "spec.yaml", directory / "baseline.json"
    if not spec.exists():
        spec.write_text(PLAIN_SPEC)
        baseline.write_text(CliRunner().invoke(main, ["check", str(spec), "--format", "json"]).stdout)
    command = [words[0], str(spec), *(["0"] if words[0] == "explain" else []),
               *(str(baseline) if word == "baseline.json" else word for word in words[1:])]
    result = CliRunner().invoke(main, command)
    option = next(word for word in reversed(words) if word.startswith("--"))
    if result.exit_code == 1 and words[0] != "check":
        return f"exit 1 from {words[0]}: {result.output[-300:]}"
    problem = _one_message(result, str(spec), option)
    if problem is None and option in ("--input", "--at", "--batch") and len(result.stderr) > 1000:
        return f"a message of {len(result.stderr):,} characters: {result.stderr[:300]}"
    return problem


BASELINE_KINDS = ["valid", "truncated", "figure", "schema", "nested", "wrapped", "digits", "binary", "utf-16",
                  "byte-order mark", "empty", "fifo", "directory", "sparse", "device link", "looping link",
                  "dangling link"]
HOSTILE_FIGURES = ["-1", "1e400", "NaN", "Infinity", '"12"', "true", "null", "9" * 41, "9" * 5000, "[]", "{}", "1.5"]


def write_baseline(kind: str, report: str, path: Path, rng: random.Random) -> None:
    """A baseline report at `path`: one saved by check (`report`), broken in one way, or a file that is not one."""
    if kind == "truncated":
        path.write_text(report[:rng.randrange(len(report))])
    elif kind == "figure":
        path.write_text(re.sub(r'"params": \d+', lambda _: f'"params": {rng.choice(HOSTILE_FIGURES)}', report))
    elif kind == "schema":
        path.write_text(report.replace("paramcalc.check/1", rng.choice(["paramcalc.check/2", "", "\u202e"])))
    elif kind == "nested":
        depth = rng.choice([10, 1000, 200_000])
        path.write_text("[" * depth + "]" * depth if rng.random() < 0.5 else '{"a": ' * depth + "0" + "}" * depth)
    elif kind == "wrapped":
        depth = rng.choice([10, 1000, 100_000])
        path.write_text('{"a": ' * depth + report + "}" * depth)
    elif kind == "digits":
        path.write_text(report.replace('"ok": true', '"ok": ' + "1" * rng.choice([41, 4301, 100_000])))
    elif kind == "binary":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))))
    elif kind == "utf-16":
        path.write_bytes(report.encode("utf-16"))
    elif kind == "byte-order mark":
        path.write_text("\ufeff" + report)
    elif kind == "empty":
        path.write_text("")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "sparse":
        with open(path, "wb") as handle:
            handle.truncate(1_500_000_000)
    elif kind == "device link":
        path.symlink_to("/dev/zero")
    elif kind == "looping link":
        path.symlink_to(path.name)
    elif kind == "dangling link":
        path.symlink_to(path.name + ".missing")
    else:
        path.write_text(report)


def check_baseline(kind: str, directory: Path, rng: random.Random) -> str | None:
    """None when `check --baseline` answered a baseline report of this kind as promised; otherwise what went
    wrong. Every report is refused before it is read whole when it is not one, and never with exit 70."""
    spec = directory / "spec.yaml"
    if not spec.exists():
        spec.write_text(PLAIN_SPEC)
    report = CliRunner().invoke(main, ["check", str(spec), "--format", "json"]).stdout
    path = directory / f"baseline-{kind.replace(' ', '-')}-{rng.randrange(10**9)}.json"
    write_baseline(kind, report, path, rng)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["check", str(spec), "--baseline", str(path)])
    if time.perf_counter() - started > MAX_SECONDS:
        return f"took {time.perf_counter() - started:.1f} s"
    if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak > MAX_GROWTH_KB:
        return "raised the peak memory past the bound"
    if kind == "valid" and result.exit_code != 0:
        return f"a valid report was refused: {result.output[-300:]}"
    return _one_message(result, f"error: {path}")


# pieces of file names: line breaks, YAML text, quotes and shell, terminal escapes, model paths, long names
NAME_PIECES = ["name: from_the_name\ninput: [3, 8, 8]\nlayers: [relu]", "a\nb", "a\rb", "\n", "-", "--help", " ",
               "\u00e9\U0001f600\u202e", "\x1b[31m", "'\";$(touch PWN)", "`touch PWN`", "torchvision.models.resnet50",
               "os:system", "x.py:Net", "*", "?", "~", "..", "%s%n", "\\", "\t", "\u200b", "x" * 200]
NAME_ENDINGS = [".yaml", ".yml", ".json", ".py", "", ".yaml\n", ".YAML"]


def hostile_file_name(rng: random.Random) -> str:
    """A file name a pull request can add: pieces of NAME_PIECES, an ending, at most 255 bytes."""
    name = "".join(rng.choice(NAME_PIECES) for _ in range(rng.randint(1, 3))) + rng.choice(NAME_ENDINGS)
    while len(name.encode("utf-8")) > 255:
        name = name[1:]
    return name if name not in ("", ".", "..") else "x.yaml"


def check_file_name(name: str, directory: Path, command: str = "show") -> str | None:
    """None when paramcalc read the spec file of this name, whatever the name holds, as promised: `show`
    reports the file's model (never a spec the name spells), `export` writes it, `verify` checks it."""
    path = directory / name
    path.write_text(PLAIN_SPEC)
    try:
        words = {"show": ["--format", "json"], "export": [], "verify": []}[command]
        result = CliRunner().invoke(main, [command, str(path), *words])
    finally:
        path.unlink()
    problem = _one_message(result, str(directory))
    if problem is not None or result.exit_code != 0:
        return problem
    if command == "show" and json.loads(result.stdout)["name"] != "from_the_file":
        return f"show reported {json.loads(result.stdout)['name']!r}, not the file's model"
    if command == "export" and not (ast.get_docstring(ast.parse(result.stdout)) or "").startswith("from_the_file"):
        return "export wrote another model than the file's"
    if command == "verify" and "2 layers agree with PyTorch" not in result.stdout:
        return f"verify checked another model than the file's: {result.stdout[:300]}"
    return None

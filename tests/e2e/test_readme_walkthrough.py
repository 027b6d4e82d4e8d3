"""The README's walkthrough, run as written: every ```bash block marked `<!-- walkthrough -->` is
executed in order, in one bash session, against a fresh local OMS (the same runtime `make run`
starts, on a free 127.0.0.1 port), and each documented answer is compared with the real one.

How the README documents an answer: a comment line starting with `# {` or `# [` (continued on the
following comment lines) right after the commands. It is the answer's shape with `...` (or `…`)
for what is left out: every key shown must be there with the value shown; a string containing an
ellipsis (`"o019ab..."`, `"f…"`) stands for any string; an array shows elements that must each
match one of the answer's (`[]` means empty). The comparison is with the last JSON the commands
printed. A comment starting otherwise (`# e.g. {...}`) is an illustration and is not checked.

Status codes: every API request of the walkthrough must succeed (2xx), except the last request of
a step whose documented answer is an error (`"error": ...`), which must be a 4xx. Every step must
end with exit status 0 (the session runs with `set -e`, so a failing command ends it).

No network: the session's proxy settings point nowhere, so anything but 127.0.0.1 would fail.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from infra import wiring
from local.runtime import LocalOms

README = Path(__file__).resolve().parents[2] / "README.md"
MARK = "<!-- walkthrough -->"
DOCUMENTED_URL = "OMS=http://127.0.0.1:8080"
STEP_TIMEOUT_S = 30
ELLIPSES = ("...", "…")

pytestmark = pytest.mark.e2e


# ------------------------------------------------------------------ reading the README


@dataclass
class Step:
    block: int
    commands: list[str] = field(default_factory=list)
    expected: str | None = None  # the documented answer, comment markers removed

    def where(self) -> str:
        first = next((c for c in self.commands if c.strip() and not c.lstrip().startswith("#")), "")
        return f"walkthrough block {self.block}, step starting {first.strip()[:90]!r}"


def walkthrough_blocks(text: str) -> list[str]:
    """The ```bash blocks right after a walkthrough mark (blank lines between are allowed)."""
    blocks = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        start = n + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        assert start < len(lines) and lines[start].strip() == "```bash", f"README line {n + 1}: {MARK} before no bash block"
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
        blocks.append("\n".join(lines[start + 1:end]))
    return blocks


def _heredoc_end(line: str) -> str | None:
    found = re.search(r"<<-?\s*(['\"]?)(\w+)\1", line)
    return found.group(2) if found else None


def steps_of(blocks: list[str]) -> list[Step]:
    """Each block cut after each documented answer; never inside a here-document."""
    steps: list[Step] = []
    for number, block in enumerate(blocks, 1):
        current = Step(number)
        lines = block.splitlines()
        i = 0
        heredoc: str | None = None
        while i < len(lines):
            line = lines[i]
            if heredoc is not None:
                current.commands.append(line)
                if line.strip() == heredoc:
                    heredoc = None
                i += 1
                continue
            stripped = line.strip()
            if stripped.startswith(("# {", "# [")):
                expected = [stripped[2:]]
                i += 1
                # Continuation lines: comments that do not start a new sentence of their own.
                while i < len(lines) and lines[i].strip().startswith("#  "):
                    expected.append(lines[i].strip()[1:].strip())
                    i += 1
                current.expected = " ".join(expected)
                steps.append(current)
                current = Step(number)
                continue
            current.commands.append(line)
            heredoc = _heredoc_end(line) if not stripped.startswith("#") else None
            i += 1
        if any(c.strip() and not c.strip().startswith("#") for c in current.commands):
            steps.append(current)
    return steps


# ------------------------------------------------------------------ documented answers


class Any_:
    def __repr__(self) -> str:
        return "..."


ANY = Any_()


@dataclass
class AnyString:
    shown: str


class Pattern:
    """A tolerant reader of the README's answer shapes: JSON plus `...` where things are left out."""

    def __init__(self, text: str):
        self.text, self.i = text, 0

    def parse(self):
        return self.value()

    def ws(self):
        while self.i < len(self.text) and self.text[self.i] in " \t\n,":
            self.i += 1

    def ellipsis(self) -> bool:
        for e in ELLIPSES:
            if self.text.startswith(e, self.i):
                self.i += len(e)
                return True
        return False

    def value(self):
        self.ws()
        if self.ellipsis():
            return ANY
        c = self.text[self.i]
        if c == "{":
            return self.object()
        if c == "[":
            return self.array()
        if c == '"':
            return self.string()
        found = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(self.text, self.i)
        if not found:
            raise ValueError(f"cannot read the documented answer at {self.text[self.i:self.i + 30]!r}")
        self.i = found.end()
        return json.loads(found.group())

    def string(self):
        end, decoded = json.decoder.scanstring(self.text, self.i + 1)
        self.i = decoded
        return AnyString(end) if any(e in end for e in ELLIPSES) else end

    def object(self):
        self.i += 1
        members: dict = {}
        while True:
            self.ws()
            if self.text[self.i] == "}":
                self.i += 1
                return members
            if self.ellipsis():
                continue
            key = self.string()
            self.ws()
            assert self.text[self.i] == ":", self.text[self.i:self.i + 30]
            self.i += 1
            members[key] = self.value()

    def array(self):
        self.i += 1
        items: list = []
        while True:
            self.ws()
            if self.text[self.i] == "]":
                self.i += 1
                return items
            item = self.value()
            if item is not ANY:
                items.append(item)


def mismatches(expected, actual, path: str = "$") -> list[str]:
    if expected is ANY:
        return []
    if isinstance(expected, AnyString):
        return [] if isinstance(actual, str) else [f"{path}: {actual!r} is not a string ({expected.shown})"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += mismatches(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {actual!r}"]
        if not expected:
            return [] if not actual else [f"{path}: expected [], got {actual!r}"]
        problems = []
        for n, item in enumerate(expected):
            if not any(not mismatches(item, candidate) for candidate in actual):
                closest = min((mismatches(item, c, f"{path}[?]") for c in actual), key=len, default=["empty"])
                problems.append(f"{path}[{n}]: no element matches; closest: {closest}")
        return problems
    if expected == actual and isinstance(expected, bool) == isinstance(actual, bool):
        return []
    return [f"{path}: expected {expected!r}, got {actual!r}"]


def json_documents(output: str) -> list:
    """Every JSON value printed, in order (curl prints them back to back, with or without newlines)."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(output):
        if output[i] in "{[":
            try:
                value, end = decoder.raw_decode(output, i)
                found.append(value)
                i = end
                continue
            except ValueError:
                pass
        i += 1
    return found


# ------------------------------------------------------------------ the session


class Session:
    """One bash process fed step by step; the output of each step is read up to a marker."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.process = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.process.stderr), daemon=True).start()
        self.send("set -e")

    def _read(self):
        for line in self.process.stdout:
            self.out.put(line)
        self.out.put(None)

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def run(self, commands: str, number: int) -> tuple[str, int]:
        marker = f"@@walkthrough-step-{number}@@"
        self.send(commands)
        self.send(f'printf "\\n{marker} %s\\n" "$?"')
        lines: list[str] = []
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            try:
                line = self.out.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no end after {STEP_TIMEOUT_S} s; output so far: {''.join(lines)!r}; "
                                     f"stderr: {''.join(self.err)!r}") from None
            if line is None:
                raise AssertionError(f"the session ended (a command failed under set -e); output: "
                                     f"{''.join(lines)!r}; stderr: {''.join(self.err)!r}")
            if line.startswith(marker):
                return "".join(lines), int(line.split()[-1])
            lines.append(line)

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


# ------------------------------------------------------------------ the test


@pytest.fixture
def workdir(tmp_path):
    # As the repository root is for a reader: the sample payloads the walkthrough posts are there.
    shutil.copytree(README.parent / "docs" / "samples", tmp_path / "docs" / "samples")
    return tmp_path


@pytest.fixture
def oms(workdir):
    previous = os.environ.get(wiring.ENV.local_outbox)
    # As for a reader at the repository root: the customer's messages in ./.local-outbox/.
    os.environ[wiring.ENV.local_outbox] = str(workdir / ".local-outbox")
    runtime = LocalOms(port=0, retry_delay_s=1).start()
    requests_seen: list[tuple[str, str, int]] = []
    gateway = runtime.gateway
    handle = gateway.handle

    def recording(request):
        response = handle(request)
        requests_seen.append((request.method, request.full_path.rstrip("?"), response.status_code))
        return response

    gateway.handle = recording
    runtime.requests_seen = requests_seen
    yield runtime
    runtime.stop()
    if previous is None:
        os.environ.pop(wiring.ENV.local_outbox, None)
    else:
        os.environ[wiring.ENV.local_outbox] = previous


def test_the_readme_walkthrough_runs_in_order_and_answers_as_documented(oms, workdir):
    text = README.read_text(encoding="utf-8")
    assert DOCUMENTED_URL in text
    steps = steps_of(walkthrough_blocks(text))
    assert len(steps) > 30, "the walkthrough marks went missing"
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), "LANG": "C.UTF-8", "TERM": "dumb",
           # Nothing leaves the machine: a request anywhere but 127.0.0.1 goes to a proxy that is not there.
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "all_proxy": "http://127.0.0.1:9",
           "no_proxy": "127.0.0.1,localhost"}
    session = Session(workdir, env)
    started = time.monotonic()
    try:
        for number, step in enumerate(steps, 1):
            commands = "\n".join(step.commands).replace(DOCUMENTED_URL, f"OMS={oms.url}")
            before = len(oms.requests_seen)
            output, status = session.run(commands, number)
            seen = oms.requests_seen[before:]
            assert status == 0, f"{step.where()}: exit status {status}; output {output!r}; stderr {session.err}"
            if step.expected is None:
                assert all(code < 400 for _, _, code in seen), f"{step.where()}: {seen}"
                continue
            expected = Pattern(step.expected).parse()
            documents = json_documents(output)
            assert documents, f"{step.where()}: printed no JSON; documented {step.expected}; got {output!r}"
            problems = mismatches(expected, documents[-1])
            assert not problems, f"{step.where()}: the answer differs from the README:\n  " + "\n  ".join(
                problems) + f"\ndocumented: {step.expected}\nanswered:   {json.dumps(documents[-1])[:3000]}"
            assert seen, f"{step.where()}: no API request"
            is_error = isinstance(expected, dict) and "error" in expected
            *earlier, (method, path, last) = seen
            assert all(code < 400 for _, _, code in earlier), f"{step.where()}: {seen}"
            if is_error:
                assert 400 <= last < 500, f"{step.where()}: documented an error, got {last} for {method} {path}"
            else:
                assert last < 400, f"{step.where()}: {method} {path} answered {last}; output {output!r}"
    finally:
        session.close()
    took = time.monotonic() - started
    print(f"walkthrough: {len(steps)} steps, {len(oms.requests_seen)} API requests, {took:.1f} s")
    # Its duration is printed, not asserted: timing belongs in benchmarks, not in a test on a busy machine.
    assert not "".join(session.err).strip(), session.err

    # What the customers were told along the way (the local outbox, as the README says). Messages are
    # sent after the answers, through the relay's batching window: the last step's may still be on the
    # way, so read until the return's three have arrived (or a generous deadline passes).
    returned = {"return_approved", "return_received", "refund_issued"}
    deadline = time.monotonic() + 60
    told = _told(workdir / ".local-outbox")
    while not returned <= set(told.get("WEB-1010", [])) and time.monotonic() < deadline:
        time.sleep(0.25)
        told = _told(workdir / ".local-outbox")
    assert told.get("WEB-1002") == ["confirmed"], told  # held, released, then allocated: confirmed once
    assert told.get("WEB-1003") == ["rejected"], told  # held, then rejected: never confirmed
    assert sorted(told.get("WEB-1004", [])) == ["confirmed", "delivered", "shipped", "shipped"], told
    assert returned <= set(told.get("WEB-1010", [])), told


def _told(outbox: Path) -> dict[str, list[str]]:
    told: dict[str, list[str]] = {}
    for path in sorted(outbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        told.setdefault(_order_number(message["Subject"]), []).append(message["X-OMS-Moment"])
    return told


def _order_number(subject: str) -> str:
    found = re.search(r"WEB-\d+", subject)
    return found.group() if found else subject


# ------------------------------------------------------------------ the reader itself (no runtime)


def test_documented_answers_are_read_as_meant():
    shape = Pattern('{...,"status":"SHIPPED","lines":[{"sku":"A","quantity":2}],...,"id":"o019ab...",'
                    '"label_url":null,"holds":[],"ok":true} (and some prose)').parse()
    answer = {"id": "o01a2", "status": "SHIPPED", "lines": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2}],
              "label_url": None, "holds": [], "ok": True, "more": 1}
    assert mismatches(shape, answer) == []
    assert mismatches(shape, {**answer, "status": "PACKED"}) == ["$.status: expected 'SHIPPED', got 'PACKED'"]
    assert mismatches(shape, {**answer, "holds": [{"reason": "X"}]})
    assert mismatches(shape, {**answer, "ok": 1})
    assert mismatches(shape, {**answer, "id": 7})
    assert mismatches(shape, {k: v for k, v in answer.items() if k != "label_url"}) == ["$.label_url: missing"]
    assert mismatches(Pattern('[{"a":1}, {...}]').parse(), [{"a": 2}])
    assert json_documents('{"a":1}{"b":[2]}\nACCEPTED\n[3]') == [{"a": 1}, {"b": [2]}, [3]]


def test_steps_end_at_documented_answers_and_never_inside_a_here_document():
    block = "\n".join([
        "cat > x.json <<'EOF'",
        '# {"not":"an answer"}',
        "EOF",
        "curl -s $OMS/x",
        '# {"a":1,',
        '#  "b":2}',
        "# a remark",
        "echo done",
    ])
    first, second = steps_of([block])
    assert first.commands[:3] == ["cat > x.json <<'EOF'", '# {"not":"an answer"}', "EOF"]
    assert first.expected == '{"a":1, "b":2}'
    assert second.commands == ["# a remark", "echo done"] and second.expected is None

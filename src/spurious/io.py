"""Reading and writing result files: JSONL with precise errors, atomic writes.

Every reader error names the file, the 1-based line and the field, so a user can fix the input.
Writers go to a temporary file in the same folder and are renamed into place, so a crash never
leaves a half-written result. They write UTF-8 JSON with non-ASCII text as is, except lone surrogates
(``"\\ud800"``, which UTF-8 cannot encode): those are written as ``\\uXXXX`` escapes, so any Python string
round-trips through a result file unchanged.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from spurious.errors import SpuriousError


class InputError(SpuriousError):
    """Bad user input: the message names the file, the line and the field."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str, field: str | None = None):
        where = str(path)
        if line is not None:
            where += f":{line}"
        if field is not None:
            message = f"field '{field}': {message}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.field = str(path), line, field


def _open_text(path: Path, mode: str = "rt"):
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def iter_jsonl(path: str | os.PathLike, required: Sequence[str] = (), types: dict[str, type | tuple] | None = None,
               not_null: Sequence[str] = (), complete_lines_only: bool = False
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSONL (or .jsonl.gz) file.

    ``required`` fields must be present; ``types`` maps a field to the accepted type(s) (``bool`` is not
    accepted as a number); ``not_null`` fields, when present, must not be null. Raises :class:`InputError`
    naming file, 1-based line and field on the first bad line. ``complete_lines_only``: a last line without its
    newline (an append in progress) is left out instead of parsed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, None, "file not found")
    if p.is_dir():
        raise InputError(p, None, "is a folder, not a JSONL file")
    try:
        fh = _open_text(p)
    except OSError as e:  # unreadable
        raise InputError(p, None, f"cannot read: {e}") from e
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline()
            except UnicodeDecodeError as e:
                raise InputError(p, lineno + 1, f"not valid UTF-8 ({e.reason})") from e
            except (OSError, EOFError) as e:  # a .gz that is not gzip, or is cut short
                raise InputError(p, lineno + 1, f"cannot read: {e}") from e
            if not raw or (complete_lines_only and not raw.endswith("\n")):
                break
            lineno += 1
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise InputError(p, lineno, f"invalid JSON: {e.msg} (column {e.colno})") from e
            if not isinstance(obj, dict):
                raise InputError(p, lineno, f"expected a JSON object, got {type(obj).__name__}")
            for f in required:
                if f not in obj:
                    raise InputError(p, lineno, "missing", field=f)
            for f in not_null:
                if f in obj and obj[f] is None:
                    raise InputError(p, lineno, "is null", field=f)
            for f, t in (types or {}).items():
                if f in obj and obj[f] is not None and (not isinstance(obj[f], t) or _bool_as_number(obj[f], t)):
                    want = t.__name__ if isinstance(t, type) else "/".join(x.__name__ for x in t)
                    raise InputError(p, lineno, f"expected {want}, got {type(obj[f]).__name__}", field=f)
            yield lineno, obj


def _bool_as_number(value: Any, accepted: type | tuple) -> bool:
    """True for a JSON true/false where only numbers (not bool itself) are accepted."""
    kinds = accepted if isinstance(accepted, tuple) else (accepted,)
    return isinstance(value, bool) and bool not in kinds


def read_jsonl(path: str | os.PathLike, required: Sequence[str] = (), types: dict[str, type | tuple] | None = None
               ) -> list[dict[str, Any]]:
    """All objects of a JSONL file (see :func:`iter_jsonl`)."""
    return [obj for _, obj in iter_jsonl(path, required, types)]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w"):
    """Open a temporary sibling of ``path`` for writing; rename it into place only on success."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        if p.suffix == ".gz":
            fh = gzip.open(tmp, mode if "t" in mode or "b" in mode else mode + "t", encoding="utf-8")
        else:
            fh = open(tmp, mode, encoding=None if "b" in mode else "utf-8")
        with fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; results should be readable
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_output(path: str | os.PathLike, kind: str = "file") -> Path:
    """Fail early, writing nothing, unless ``path`` can be created as a ``kind`` (``"file"`` or ``"folder"``).

    A file output must not be an existing folder or special file (``/dev/null``); a folder output must not be
    an existing file. The nearest existing parent must be a folder in which a file can actually be created
    (probed with a temporary file, so ``/proc/x`` and read-only mounts fail here, also for root).
    Raises :class:`InputError` naming the path.
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', got {kind!r}")
    p = Path(path)
    if kind == "file" and p.is_dir():
        raise InputError(p, None, "output is a folder; give a file name")
    if kind == "file" and p.exists() and not p.is_file():
        raise InputError(p, None, "output exists and is not a regular file")
    if kind == "folder" and p.exists() and not p.is_dir():
        raise InputError(p, None, "output folder is an existing file; give a folder")
    probe_dir = p if kind == "folder" and p.is_dir() else p.parent
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise InputError(p, None, f"cannot write: {probe_dir} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".spurious-probe.", dir=probe_dir)
    except OSError as e:
        raise InputError(p, None, f"cannot write in {probe_dir}: {e.strerror or e}") from e
    os.close(fd)
    os.unlink(tmp)
    return p


def finite_json(obj: Any) -> Any:
    """A copy of ``obj`` with every NaN or infinite float replaced by None, so it serialises as strict JSON
    (``null``; Python's ``json`` would write the non-JSON tokens ``NaN``/``Infinity``). Tuples become lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def summary_path(output: str | os.PathLike) -> Path:
    """The sidecar summary of a result file: ``out.jsonl`` -> ``out.summary.json`` (also ``.jsonl.gz``, ``.json``)."""
    out = Path(output)
    name = out.name
    for suffix in (".jsonl.gz", ".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(name + ".summary.json")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` with lone surrogates escaped (``\\ud800``): valid JSON
    that encodes as UTF-8 and loads back to the same strings."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Atomically write rows as JSONL (gzip if the name ends in .gz). Returns the row count."""
    n = 0
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(json_text(row) + "\n")
            n += 1
    return n


def append_jsonl(path: str | os.PathLike, row: dict[str, Any]) -> None:
    """Append one row and flush it to disk (for resumable, line-by-line logs)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = json_text(row) + "\n"  # encoded before the file is touched: a bad row appends nothing
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write one JSON document (indented)."""
    text = json_text(obj, indent=2, default=str)
    with atomic_open(path) as fh:
        fh.write(text + "\n")

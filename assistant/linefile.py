"""Line files that users hand to a command (batch questions, evaluation sets): a missing, unreadable
or binary file is one error; a line that is not UTF-8 text is that line's error only."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import DalilError, InputError


def read_lines(path: Path, what: str, error: type[DalilError] = InputError) -> list[tuple[int, str | None]]:
    """(line number, text) of the non-blank lines, text None for a line that is not valid UTF-8.

    Raises `error` naming the file when it is missing, a folder, unreadable, binary (NUL bytes),
    or holds no UTF-8 line at all.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} not found: check the path") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder: give a JSONL file, one JSON object per line") from None
    except PermissionError:
        raise error(f"{what} {path} cannot be read (permission denied): check its permissions") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in raw:
        raise error(
            f"{what} {path} is a binary file (it holds NUL bytes): give a UTF-8 JSONL file, "
            "one JSON object per line"
        )
    lines: list[tuple[int, str | None]] = []
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            lines.append((n, line.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r")))
        except UnicodeDecodeError:
            lines.append((n, None))
    if lines and all(text is None for _, text in lines):
        raise error(f"{what} {path} is not UTF-8 text: save it as UTF-8 JSONL, one JSON object per line")
    return lines


def has_surrogate(text: str) -> bool:
    """A lone surrogate (from a JSON escape like \\ud800, or undecodable command-line bytes) is not
    text: it cannot be encoded, stored or printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """The text with lone surrogates written as escapes, safe to print and store."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

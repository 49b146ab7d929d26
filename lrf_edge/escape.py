"""Strings from model files, made safe for each place lrf-edge writes them.

Model, layer and tensor names, doc strings and metadata come from files users download: they
are attacker-chosen, and lrf-edge's output goes into firmware. A name such as
`m */ int x = 42; /*` written into a C comment closes it and compiles into the model. So
every model-derived string reaches C, Markdown, HTML, the terminal and file names through
one function of this module, each one whitelisting what is safe there rather than
blacklisting what is known to be dangerous. Long names are cut (a 10,000-character name is
noise in a comment and an error from the file system in a file name).

JSON needs nothing here: `json.dumps` escapes every string it writes.
"""

from __future__ import annotations

import html as _html
import re

SHOWN = 80  # characters of a name kept in comments, strings, reports and messages
IDENT = 48  # characters of a name kept in C identifiers and file names

# What no comment or quoted string of C, CMake, Kconfig, YAML or a properties file reads
# as syntax: no '*' or '/' (C comments), '\\' (line splices), '?' (trigraphs), quotes,
# '#', '$' or a line break.
_PLAIN_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:;=+()<>@%&^~!-]")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def one_line(text: object, limit: int | None = None) -> str:
    """Printable text on one line: control characters (newlines, terminal escapes) become
    spaces; cut to `limit` characters when given. For the terminal and messages."""
    out = "".join(" " if not ch.isprintable() else ch for ch in str(text))
    return _cut(out, limit) if limit else out


def plain(text: object) -> str:
    """Text for inside a C `/* */` or `//` comment, a CMake, Kconfig or YAML comment or
    quoted string: letters, digits, spaces and harmless punctuation; the rest `_`."""
    return _cut(_PLAIN_UNSAFE.sub("_", one_line(text)), SHOWN)


def c_string(text: object) -> str:
    """The body of a C string literal (without its quotes): printable ASCII as it is, `"`
    and `\\` escaped, `?` as an octal escape (no trigraph), everything else as UTF-8 bytes in
    three-digit octal escapes (a hex escape would swallow the digits after it)."""
    out = []
    for ch in _cut(str(text), SHOWN):
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "?":
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "replace"))
    return "".join(out)


def identifier(text: object, limit: int = IDENT) -> str:
    """A lower-case C identifier, macro name stem and file name: [a-z0-9_] only, never empty
    ('model'), never a leading digit ('m_' before it), at most `limit` characters."""
    name = re.sub(r"[^0-9a-z_]", "_", str(text).lower()).strip("_")[:limit].strip("_")
    if not name:
        return "model"
    return f"m_{name}"[:limit] if name[0].isdigit() else name


def html(text: object) -> str:
    """Text for HTML: one line, `<`, `>`, `&` and both quotes escaped."""
    return _html.escape(one_line(text, SHOWN), quote=True)


def markdown(text: object) -> str:
    """Text for Markdown (which may embed HTML): the characters that emphasize, quote code,
    make links or end a table cell backslash-escaped, then HTML-escaped."""
    md = re.sub(r"([\\`*\[\]|~])", r"\\\1", one_line(text, SHOWN))
    return _html.escape(md, quote=True)

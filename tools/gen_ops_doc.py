#!/usr/bin/env python3
"""Writes docs/ops.md, the table of every tensor op, from the declarations in core/ops.h.

    python3 tools/gen_ops_doc.py            rewrite docs/ops.md
    python3 tools/gen_ops_doc.py --check    exit 1 if docs/ops.md differs from what it would write

core/ops.h is the single source (with the family headers it includes, `#include
"core/ops/NAME.h"`, read in place): its "// ---- section (defining files) ----" rulers become
the sections, each declaration a row (name, signature, the first sentence of its
description). See parse() for which comment describes what; an op without one is an error,
so that every row says what its op does. The standard library alone, so that Debian's
python3 runs it.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = re.compile(r"^// -{3,} (.*?) -*$")
SECTION_FILE = re.compile(r"^(.*?)\s*\(([^)]*)\)$")
DECL_START = re.compile(r"^(inline\s+)?(Tensor|std::vector<Tensor>|\w+Result)\s+[\w+\-*/]+\s*\(|^(inline\s+)?Tensor\s+operator")
TYPE_ONE_LINE = re.compile(r"^enum class (\w+) \{(.*)\};")
STRUCT_START = re.compile(r"^struct (\w+) \{")
FAMILY_INCLUDE = re.compile(r'^#include "(core/ops/\w+\.h)".*$', re.M)


def with_family_headers(header_text):
    """core/ops.h with each `#include "core/ops/NAME.h"` replaced by that header's text."""
    def text_of(match):
        with open(os.path.join(ROOT, match.group(1)), encoding="utf-8") as f:
            return f.read()
    return FAMILY_INCLUDE.sub(text_of, header_text)


def split_comment(line):
    """(code, comment) of one line; the comment without its //."""
    at = line.find("//")
    return (line, "") if at < 0 else (line[:at].rstrip(), line[at + 2:].strip())


def first_sentence(text):
    """The description's first sentence: what fits one table row."""
    match = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    sentence = text[:match.start()] if match else text
    return sentence.strip().rstrip(":,")


def read_declaration(lines, i):
    """The declaration starting at lines[i], over as many lines as its parameter list takes:
    (code, trailing comment, inline body or "", index of the next line)."""
    code, note, depth, opened = "", "", 0, False
    while i < len(lines):
        part, part_note = split_comment(lines[i].strip())
        i += 1
        note = note or part_note
        for at, ch in enumerate(part):
            if ch == "(":
                depth, opened = depth + 1, True
            elif ch == ")":
                depth -= 1
            elif opened and depth == 0 and ch in ";{":
                body = part[at + 1:].rsplit("}", 1)[0].strip() if ch == "{" else ""
                return (code + " " + part[:at]).strip(), note, body, i
        code += " " + part
    raise SystemExit(f"gen_ops_doc: unterminated declaration: {code.strip()[:80]}")


def op_name(signature):
    return re.search(r"(operator\S+?|\w+)\s*\(", signature).group(1)


def parse(header_text):
    """[(section title, defining files, notes, rows)], a row being (name, signature, description).

    A comment block right above a declaration describes it, and the overloads that follow it
    without a comment of their own; a comment block followed by a blank line is a note on
    its section; a comment on a declaration's own line wins over the block above it.
    """
    sections = []
    comment = []                 # the pending comment block
    last_name, last_description = None, ""
    lines = header_text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        ruler = SECTION.match(line)
        if ruler:
            title = ruler.group(1).rstrip(" -")
            m = SECTION_FILE.match(title)
            sections.append((m.group(1), m.group(2), [], []) if m else (title, "", [], []))
            comment, last_name = [], None
            continue
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        if not sections:
            comment = []
            continue
        _, _, notes, rows = sections[-1]
        if not line:
            if comment:
                notes.append(" ".join(comment))
            comment, last_name = [], None
            continue
        description = " ".join(comment)
        comment = []
        enum = TYPE_ONE_LINE.match(line)
        struct = STRUCT_START.match(line)
        if enum:
            rows.append((enum.group(1), f"enum class {enum.group(1)} {{{enum.group(2)}}}", first_sentence(description)))
        elif struct:
            fields = []
            while i < len(lines) and not lines[i].strip().startswith("};"):
                code, note = split_comment(lines[i].strip())
                i += 1
                if code.endswith(";") and "(" not in code:  # a field, not a constructor
                    fields.append(code.rstrip(";") + (f" ({note})" if note else ""))
            i += 1
            rows.append((struct.group(1), f"struct {struct.group(1)} {{ {'; '.join(fields)}; }}",
                         first_sentence(description)))
        elif DECL_START.match(line):
            code, note, body, i = read_declaration(lines, i - 1)
            signature = re.sub(r"^inline ", "", re.sub(r"\s+", " ", code))
            name = op_name(signature)
            if body.startswith("return "):
                description = "= " + body[len("return "):].rstrip(";")  # an inline operator: what it calls
            elif not note and not description and name == last_name:
                description = last_description  # an overload of the row above
            description = note or description
            rows.append((name, signature, first_sentence(description)))
            last_name, last_description = name, description
            continue
        last_name = None
    return sections


def cell(text):
    return text.replace("|", "\\|")


def render(sections):
    out = [
        "# Tensor ops",
        "",
        "<!-- Generated from core/ops.h by tools/gen_ops_doc.py: edit the header's comments, then",
        "     run `python3 tools/gen_ops_doc.py`. ctest's ops_doc entry fails when this page is stale. -->",
        "",
        "Every differentiable op of `namespace mg` (`#include \"core/ops.h\"`), by section, with the",
        "first sentence of its comment in core/ops.h (read the header for the rest). Binary ops",
        "broadcast with NumPy's rules and require equal dtypes. Views and conversions (`view`,",
        "`reshape`, `transpose`, `slice`, `to`, ...) are `Tensor` methods: see core/tensor.h.",
        "",
    ]
    for title, source, notes, rows in sections:
        if not rows:
            continue
        out.append(f"## {title[0].upper() + title[1:]}")
        out.append("")
        if source:
            out.append(f"Defined in {', '.join(f'`{s.strip()}`' for s in source.split(','))}.")
            out.append("")
        for note in notes:
            out.append(note)
            out.append("")
        out.append("| op | signature | description |")
        out.append("| --- | --- | --- |")
        for name, signature, description in rows:
            out.append(f"| `{cell(name)}` | `{cell(signature)}` | {cell(description)} |")
        out.append("")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale instead of writing it")
    parser.add_argument("--header", default=os.path.join(ROOT, "core", "ops.h"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "ops.md"))
    args = parser.parse_args()
    with open(args.header, encoding="utf-8") as f:
        sections = parse(with_family_headers(f.read()))
    bare = [name for _, _, _, rows in sections for name, _, description in rows if not description]
    if bare:
        print(f"gen_ops_doc: no comment describes {', '.join(bare)} in {args.header}: add one, "
              "it becomes the op's row in docs/ops.md", file=sys.stderr)
        return 1
    page = render(sections)
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            print(f"gen_ops_doc: cannot read {args.out}: {e.strerror}", file=sys.stderr)
            return 1
        if current != page:
            print(f"gen_ops_doc: {os.path.relpath(args.out, ROOT)} is stale: run python3 tools/gen_ops_doc.py",
                  file=sys.stderr)
            return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Rewrites a .cu file's launches for the SIMT emulation: kernel<<<grid, block[, shared[, stream]]>>>(args)
becomes simt_launch(kernel, dim3(grid), dim3(block), shared, stream, args). Everything else is left alone.

usage: cu_to_cpp.py IN.cu OUT.cpp
"""
import sys

OPEN, CLOSE = "([{<", ")]}>"


def split_top(text):
    """Splits at commas outside brackets (<...> counted only where balanced is harmless here)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def kernel_start(src, end):
    """Start of the kernel expression that ends at `end`: adjacent identifiers, `::`, balanced
    template arguments and call parentheses (`pick_kernel(a, b)<<<...>>>` launches what the call returns)."""
    i = end
    while i > 0 and src[i - 1].isspace():
        i -= 1
    pairs = {">": "<", ")": "("}
    while i > 0:
        ch = src[i - 1]
        if ch in pairs:
            depth = 0
            while i > 0:
                i -= 1
                if src[i] == ch:
                    depth += 1
                elif src[i] == pairs[ch]:
                    depth -= 1
                    if depth == 0:
                        break
        elif ch.isalnum() or ch in "_:":
            i -= 1
        else:
            break
    return i


def matching_paren(src, i):
    depth = 0
    for j in range(i, len(src)):
        if src[j] == "(":
            depth += 1
        elif src[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise SystemExit(f"cu_to_cpp: unbalanced launch arguments at offset {i}")


def rewrite(src):
    out, pos = [], 0
    while True:
        a = src.find("<<<", pos)
        if a < 0:
            out.append(src[pos:])
            return "".join(out)
        k = kernel_start(src, a)
        b = src.find(">>>", a)
        config = split_top(src[a + 3:b])
        p = b + 3
        while src[p].isspace():
            p += 1
        if src[p] != "(":
            raise SystemExit(f"cu_to_cpp: no argument list after a launch at offset {b}")
        q = matching_paren(src, p)
        args = src[p + 1:q].strip()
        out.append(src[pos:k])
        shared = config[2] if len(config) > 2 else "0"
        stream = config[3] if len(config) > 3 else "nullptr"
        out.append(f"simt_launch({src[k:a].strip()}, dim3({config[0]}), dim3({config[1]}), {shared}, {stream}"
                   + (f", {args})" if args else ")"))
        pos = q + 1


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src = open(sys.argv[1]).read()
    with open(sys.argv[2], "w") as f:
        f.write(rewrite(src))


if __name__ == "__main__":
    main()

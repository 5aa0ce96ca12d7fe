#!/usr/bin/env python3
"""Copy the Docker build context (the repository filtered by .dockerignore) into DEST
and check that every COPY source of the Dockerfile's build stages is in it.

No Docker engine runs here, so this proves instead that the context holds what the
Dockerfile copies; the test script then builds the crate from DEST.

usage: docker_context.py DEST   (run from the repository root)

.dockerignore support: one pattern per line, "#" comments, "!" exceptions, "*" and "?"
wildcards; a pattern matches a path or any of its parent directories; the last
matching pattern wins (Docker's rules for these forms).
"""

import fnmatch
import os
import shutil
import sys


def ignore_patterns(path=".dockerignore"):
    """(negated, pattern) pairs from .dockerignore, in order."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line[1:] if negated else line
            out.append((negated, pattern.strip("/")))
    return out


def excluded(rel, patterns):
    """True when the file at rel (relative, "/"-separated) is left out of the context."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negated, pattern in patterns:
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            result = not negated
    return result


def copy_sources(dockerfile="Dockerfile"):
    """Sources of every COPY without --from (the build context's part of the image)."""
    sources = []
    with open(dockerfile, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY":
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        sources.extend(args[:-1])
    return sources


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    dest = argv[1]
    patterns = ignore_patterns()
    count = 0
    for root, dirs, files in os.walk("."):
        dirs[:] = [d for d in dirs if d not in (".git", "target", ".venv")]
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), ".").replace(os.sep, "/")
            if excluded(rel, patterns):
                continue
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(rel, os.path.join(dest, rel))
            count += 1
    missing = [s for s in copy_sources() if not os.path.exists(os.path.join(dest, s.rstrip("/")))]
    if missing:
        print(f"docker_context: COPY sources missing from the build context: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"docker_context: {count} files in the build context; every COPY source is present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Compare the struct layouts that two builds of a library record in their
DWARF debug information, with pahole (package dwarves).

usage: python3 layout.py OLD.so NEW.so

Prints one line per struct whose size or members changed, for example
"struct XML_ParserStruct: 976 -> 992 bytes, added m_reparseDeferralEnabled",
and nothing when every struct is the same.  A live patch cannot change the
layout of a struct that running code has already allocated, so the scenario
expects suture build to reject such a change.
"""
import re
import subprocess
import sys

MEMBER = re.compile(r"^\s+(.+?)\s*;\s*/\*\s*(\d+)(?::\d+)?\s+(\d+)\s*\*/")
SIZE = re.compile(r"/\*\s*size:\s*(\d+)")


def read_layouts(path):
    """Return {struct name: (size, [(member, offset, size), ...])}."""
    text = subprocess.run(["pahole", "--anon_include", path], check=True,
                          capture_output=True, text=True).stdout
    layouts = {}
    name, size, members, depth = None, None, [], 0
    for line in text.splitlines():
        if depth == 0:
            opened = re.match(r"^(struct (\S+)|typedef struct) \{", line)
            if opened:
                name, size, members, depth = opened.group(2), None, [], 1
            continue
        depth += line.count("{") - line.count("}")
        if depth == 0:
            closed = re.match(r"^\}\s*(\w*)", line)
            if name is None and closed and closed.group(1):
                name = closed.group(1)
            if name and name not in layouts:
                layouts[name] = (size, members)
            name = None
            continue
        if depth == 1:
            member = MEMBER.match(line)
            if member:
                declaration = member.group(1).split()[-1].lstrip("*")
                members.append((declaration, int(member.group(2)), int(member.group(3))))
            found = SIZE.search(line)
            if found:
                size = int(found.group(1))
    return layouts


def describe_change(name, old, new):
    old_size, old_members = old
    new_size, new_members = new
    old_names = [m[0] for m in old_members]
    new_names = [m[0] for m in new_members]
    parts = []
    if old_size != new_size:
        parts.append("%s -> %s bytes" % (old_size, new_size))
    added = [m for m in new_names if m not in old_names]
    removed = [m for m in old_names if m not in new_names]
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    moved = [m[0] for m in new_members if m[0] in old_names and m not in old_members]
    if moved:
        parts.append("%d members moved" % len(moved))
    return "struct %s: %s" % (name, "; ".join(parts)) if parts else None


def main():
    old, new = read_layouts(sys.argv[1]), read_layouts(sys.argv[2])
    for name in sorted(set(old) & set(new)):
        if old[name] != new[name]:
            change = describe_change(name, old[name], new[name])
            if change:
                print(change)


if __name__ == "__main__":
    main()

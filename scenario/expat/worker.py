"""A long-running python3 process that parses XML with xml.parsers.expat.

It reads one request per line on stdin and writes one result line on stdout,
so the scenario can ask the same process before and after each live patch:

  version            the libexpat version string the process runs
  pid                the process id
  copy-dtd           an external entity parser, which copies the DTD with
                     dtdCopy (CVE-2024-45491)
  scaffold           element declarations, whose content models expat builds
                     with nextScaffoldPart (CVE-2024-45492)
  nested-entities N  N general entities, each referring to the next
                     (CVE-2024-8176); parsed in a forked child because the
                     vulnerable library may overflow the stack
  chunks N           a 64 KiB attribute value fed in N pieces, with the parse
                     time (CVE-2023-52425)

Between requests it keeps parsing a small document in a loop, so the library
is in use while patches are applied.
"""
import os
import select
import signal
import sys
import time
import xml.parsers.expat


def describe(parser, ok):
    code = parser.ErrorCode
    message = xml.parsers.expat.ErrorString(code) if code else "none"
    return "status=%d error=%d (%s)" % (1 if ok else 0, code, message)


def parse(text, **handlers):
    parser = xml.parsers.expat.ParserCreate()
    for name, handler in handlers.items():
        setattr(parser, name, handler)
    try:
        parser.Parse(text, True)
        return parser, True
    except xml.parsers.expat.ExpatError:
        return parser, False


def request_copy_dtd():
    doc = ("<!DOCTYPE a [\n"
           "  <!ATTLIST a x CDATA 'one' y CDATA 'two'>\n"
           "  <!ENTITY ext SYSTEM 'ext.xml'>\n"
           "]><a>&ext;</a>")
    outer = xml.parsers.expat.ParserCreate()
    outer.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_ALWAYS)
    state = {"external": "failed"}

    def external_entity_ref(context, base, system_id, public_id):
        inner = outer.ExternalEntityParserCreate(context)
        inner.Parse("<b/>", True)
        state["external"] = "parsed"
        return 1

    outer.ExternalEntityRefHandler = external_entity_ref
    try:
        outer.Parse(doc, True)
        ok = True
    except xml.parsers.expat.ExpatError:
        ok = False
    return "%s external-parser=%s" % (describe(outer, ok), state["external"])


def format_model(model):
    content_type, quantifier, name, children = model
    if name is not None:
        return name
    separator = "|" if content_type == xml.parsers.expat.model.XML_CTYPE_CHOICE else ","
    return "(" + separator.join(format_model(child) for child in children) + ")"


def request_scaffold():
    doc = ("<!DOCTYPE a [\n"
           "  <!ELEMENT a (b,(c|d),e)>\n"
           "  <!ELEMENT b (#PCDATA)>\n"
           "]><a/>")
    models = []
    parser, ok = parse(doc, ElementDeclHandler=lambda name, model: models.append(
        "%s=%s" % (name, format_model(model))))
    return "%s models %s" % (describe(parser, ok), " ".join(models))


def nested_entity_document(depth):
    lines = ["<!DOCTYPE a [", "<!ENTITY e0 'x'>"]
    lines += ["<!ENTITY e%d '&e%d;'>" % (i, i - 1) for i in range(1, depth)]
    lines.append("]><a>&e%d;</a>" % (depth - 1))
    return "\n".join(lines)


def request_nested_entities(depth):
    """Parse in a forked child: it runs this process's code, patched or not."""
    doc = nested_entity_document(depth)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        parser, ok = parse(doc)
        os.write(write_end, describe(parser, ok).encode())
        os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        data = os.read(read_end, 4096)
        if not data:
            break
        chunks.append(data)
    os.close(read_end)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        signal_number = os.WTERMSIG(status)
        return "crashed: forked child %d killed by signal %d (%s)" % (
            child, signal_number, signal.strsignal(signal_number))
    return b"".join(chunks).decode()


def request_chunks(count):
    doc = "<a b='" + "x" * (64 * 1024) + "'/>"
    step = (len(doc) + count - 1) // count
    parser = xml.parsers.expat.ParserCreate()
    start = time.monotonic()
    ok = True
    try:
        for at in range(0, len(doc), step):
            parser.Parse(doc[at:at + step], at + step >= len(doc))
    except xml.parsers.expat.ExpatError:
        ok = False
    return "%s seconds=%.3f" % (describe(parser, ok), time.monotonic() - start)


def handle(line):
    words = line.split()
    if not words:
        return "empty request"
    name, args = words[0], words[1:]
    if name == "version":
        return xml.parsers.expat.EXPAT_VERSION
    if name == "pid":
        return str(os.getpid())
    if name == "copy-dtd":
        return request_copy_dtd()
    if name == "scaffold":
        return request_scaffold()
    if name == "nested-entities" and len(args) == 1 and args[0].isdigit():
        return request_nested_entities(int(args[0]))
    if name == "chunks" and len(args) == 1 and args[0].isdigit() and int(args[0]) > 0:
        return request_chunks(int(args[0]))
    return "unknown request: " + line


def main():
    print("ready pid=%d %s" % (os.getpid(), xml.parsers.expat.EXPAT_VERSION), flush=True)
    background = "<r>" + "<item n='1'>text &amp; more</item>" * 20 + "</r>"
    pending = b""
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = line.decode().strip()
            print("%s: %s" % (request, handle(request)), flush=True)
        readable, _, _ = select.select([0], [], [], 0.01)
        if not readable:
            parse(background)
            continue
        data = os.read(0, 4096)
        if not data:
            return
        pending += data


if __name__ == "__main__":
    main()

"""The sections the benchmark tools write into doc/*.md, between their own markers."""


def write_section(doc, begin, end, section):
    """``section`` (from ``begin`` to ``end``) in ``doc`` (a Path) in place of the one there,
    or at the end of the document when it has none."""
    text = doc.read_text()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)

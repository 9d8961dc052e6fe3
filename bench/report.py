"""The text table the benchmarks print."""

from __future__ import annotations


def format_table(lines: list[tuple[str, ...]], right: set[int]) -> str:
    """Align `lines` (the first is the header) in columns; columns in `right` align right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = []
    for index, line in enumerate(lines):
        text.append(
            "  ".join(
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip()
        )
        if index == 0:
            text.append("  ".join("-" * width for width in widths))
    return "\n".join(text)

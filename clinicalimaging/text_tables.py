"""Fixed-width text tables of result rows, for the command line."""


def format_rows(rows, columns):
    """Rows of dicts as a fixed-width text table: a left-aligned ``"method"`` column, then number columns.

    Parameters
    ----------
    rows : list of dict
        Each with a ``"method"`` string and the keys of ``columns``.
    columns : sequence of (key, header, width, format)
        One right-aligned column per entry: the row key, its header, its width in
        characters and a format spec for its numbers (e.g. ``".3f"``).

    Returns
    -------
    str
        A header line and one line per row, without a trailing newline.
    """
    method_width = max(len("method"), *(len(row["method"]) for row in rows))
    lines = [f"{'method':<{method_width}}" + "".join(f"{header:>{width}}" for _, header, width, _ in columns)]
    for row in rows:
        lines.append(f"{row['method']:<{method_width}}"
                     + "".join(f"{row[key]:>{width}{number}}" for key, _, width, number in columns))
    return "\n".join(lines)

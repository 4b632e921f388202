"""The Requests tail's title: how many rows it shows of how many, its filter and whether it follows.
No Textual here: rich Text only."""
from __future__ import annotations

from rich.text import Text


def requests_title(*, shown: int, held: int, matching: int | None, filter_text: str, paused: bool,
                   unseen: int) -> Text:
    """`shown` table rows of `held` collected; `matching` counts the filter's matches (None: no filter)."""
    title = Text("Requests [2]", style="bold")
    if matching is None:
        title.append(f"  showing {shown:,} of {held:,}")
    else:  # the rows shown (capped), of those matching, of all the console holds
        title.append(f"  showing {shown:,} of {matching:,} matching (of {held:,})")
    if filter_text:
        title.append("  filter ")
        title.append(filter_text, style="bold yellow")
    if paused:
        title.append("  PAUSED", style="bold reverse")
        if unseen:
            title.append(f" +{unseen:,} new", style="bold yellow")
    else:
        title.append("  following", style="green")
    return title

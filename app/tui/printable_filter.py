"""The console's last guard against terminal control codes in data: a line filter on every widget.

Rows, toasts, the request detail and the plots all show text that clients and upstreams chose (app/core/
printable.py). Instead of trusting every formatter to escape it, the console filters every line it paints:
a segment with a control character is drawn with visible stand-ins (ESC as ␛). A line of printable
text passes through as the same list, after one check per segment.
"""
from __future__ import annotations

from rich.segment import Segment
from textual.filter import LineFilter

from ..core.printable import printable


class PrintableFilter(LineFilter):
    def apply(self, segments: list[Segment], background) -> list[Segment]:
        for text, _style, control in segments:
            if not (control or text.isprintable()):
                break
        else:
            return segments
        return [segment if segment.control or segment.text.isprintable()
                else Segment(printable(segment.text), segment.style) for segment in segments]


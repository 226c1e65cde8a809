"""The setting of recurring change freezes, ``MLOPS_FREEZE_WINDOWS``: text checked when settings load."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from bot.core.freeze_windows import EXAMPLE, parse_windows

__all__ = ["FreezeWindowsText"]


def _checked(text: str) -> str:
    try:
        parse_windows(text)
    except ValueError as exc:
        raise ValueError(f"{exc}. Example: {EXAMPLE!r}") from None
    return text


#: the text of MLOPS_FREEZE_WINDOWS, refused at load with the window at fault and what is wrong
FreezeWindowsText = Annotated[str, AfterValidator(_checked)]

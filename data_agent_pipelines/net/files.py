"""Reading a local feed file (a `file://` URL that `policy.local_file` allowed) the way a download reads a body:
into the destination atomically, within the same size limit, with the same `Download` result.

The file is opened without following a symbolic link and without blocking, and judged again on the open handle:
what `local_file` checked by name may have been swapped for a link, a fifo or a device since.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from .body import too_large
from .errors import FetchError, UnsafeURL

_CHUNK = 1024 * 1024


def copy_local_file(url: str, source: Path, dest: Path, max_bytes: int) -> tuple[str, int]:
    """Copy `source` to `dest` (a temporary file renamed on success); return its sha256 and size.

    Raises UnsafeURL when the opened file is not a regular file, TooLarge past `max_bytes` (announced by its size
    or read), FetchError when it cannot be read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(source, flags)
    except OSError as exc:
        advice = "Check the file and its permissions."
        raise FetchError(url, f"the file cannot be read ({exc.strerror})", advice) from exc
    with os.fdopen(handle, "rb", buffering=0) as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UnsafeURL(url, "it is not a regular file", "Give the URL of a feed file in the local feed folder.")
        if status.st_size > max_bytes:
            raise too_large(url, max_bytes, "the file")
        digest = hashlib.sha256()
        size = 0
        descriptor, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        part = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as out:
                # Bounded as it is read too: the file may grow after its size was looked at.
                while piece := file.read(min(_CHUNK, max_bytes + 1 - size)):
                    size += len(piece)
                    if size > max_bytes:
                        raise too_large(url, max_bytes, "the file")
                    digest.update(piece)
                    out.write(piece)
            part.replace(dest)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return digest.hexdigest(), size

"""Reading ``.npz`` archives member by member, header first.

``numpy.load`` decompresses a member as soon as it is indexed, whatever
shape its header claims. Here each member's header (shape, dtype) is read
on its own, so the caller can refuse it before any data are decompressed,
and the data are then read with pickles disabled. Every failure is a
``ValueError`` that names the file.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

# Longest string a label or schema name may be (in characters).
MAX_TEXT = 4096
# Members beyond this size must not compress better than _MAX_RATIO:1.
# Statistics are dense float64 and barely compress; a higher ratio is a
# decompression bomb (a small file that expands to gigabytes of zeros).
_BOMB_BYTES = 2**26
_MAX_RATIO = 100


@dataclass(frozen=True)
class Member:
    """One ``.npy`` member of an archive, described by its header."""

    info: zipfile.ZipInfo
    shape: tuple
    dtype: np.dtype
    data_offset: int

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


def open_npz(path):
    """The archive at ``path``, or a ``ValueError`` saying what the file is instead."""
    try:
        if zipfile.is_zipfile(path):
            return zipfile.ZipFile(path)
        with open(path, "rb") as f:
            start = f.read(6)
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error}).") from None
    if start == b"\x93NUMPY":
        raise ValueError(
            f"{path}: is a single .npy array, not an .npz archive of saved statistics."
        )
    if start.startswith(b"PK\x03\x04"):
        raise ValueError(f"{path}: is a damaged or truncated .npz archive.")
    raise ValueError(f"{path}: is not an .npz archive of saved statistics.")


def member_headers(archive, path):
    """``{key: Member}`` for every member, reading headers only."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"{path}: member {info.filename!r} is not a .npy array.")
        key = info.filename[: -len(".npy")]
        members[key] = _header(archive, info, key, path)
    return members


def _header(archive, info, name, path):
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            offset = f.tell()
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path}: member {name!r} is not a readable .npy array ({error}).") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: member {name!r} holds Python objects; pickles are refused.")
    if dtype.kind == "U" and dtype.itemsize > 4 * MAX_TEXT:
        raise ValueError(f"{path}: member {name!r} holds strings longer than {MAX_TEXT} characters.")
    return Member(info, tuple(shape), dtype, offset)


def check_member_size(key, member, path):
    """The member's stored size must be what its header declares, and no bomb."""
    expected = member.data_offset + member.nbytes
    if member.info.file_size != expected:
        raise ValueError(
            f"{path}: member {key!r} holds {member.info.file_size} bytes, but its "
            f"header declares shape {member.shape} ({expected} bytes); truncated or damaged."
        )
    if member.nbytes > _BOMB_BYTES and member.nbytes > _MAX_RATIO * member.info.compress_size:
        raise ValueError(
            f"{path}: member {key!r} would expand {member.info.compress_size} compressed "
            f"bytes into {member.nbytes}; refused as a decompression bomb."
        )


def read_member(archive, key, member, path):
    """The member's array (pickles disabled), after its header was checked."""
    try:
        with archive.open(member.info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path}: member {key!r} cannot be read ({error}).") from None

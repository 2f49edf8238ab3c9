"""Whose file is this: an LMS bulk download's entry names, read by the LMS's own naming rules.

Nothing here opens a file: an entry is judged by its name alone (grading/hosting/lms.py extracts only
what this chose). Each rule is the LMS's own code, cited where it is read:

Canvas (``lib/content_zipper.rb``, ``ContentZipper#get_filename`` and ``#add_upload_submission``)::

    [<sortable name>_][LATE_]<user id>_<attachment id>_<file name>
    [LATE_]anon_<anonymous id>_<attachment id>_<file name>          (anonymous grading)

The part before the attachment id went through ``sanitize_file_name`` (every character that is
not a word character removed) and the name through ``sanitize_user_name`` (downcased, ``_<digits>_``
joined), so ``LATE`` in capitals is never part of a name. For a group assignment graded as a
group the name is the group's and the user id is one member's (``Assignment#representatives``).
The anonymous id is 5 base58 characters (``lib/anonymity.rb``). The number after the user id is
the file's attachment id (a newer upload has a larger one). A file uploaded again under a name
the student's Submissions folder already has is renamed ``<stem>-1`` ... ``-7``, then
``<stem>-<uuid>`` (``Attachment.make_unique_filename``); a browser's second download is
``<stem> (1)``.

Moodle (``mod/assign/locallib.php`` ``download_submissions`` up to 4.0, ``mod/assign/classes/
downloader.php`` ``get_student_prefix`` and ``load_submissionplugin_filelist`` from 4.1)::

    3.x   <Full Name>_<participant id>_assignsubmission_file_/<path>/<file>
    4.1+  <Full Name>_<participant id>_assignsubmission_file/<path>/<file>
    4.1+  <Group name>_<group id>_assignsubmission_file/<file>      (team submission)
          <Default group>_assignsubmission_file/<file>            (team of students in no group)
    both, without folders: <prefix>_assignsubmission_file_<file>

``_`` in a name becomes a space (``str_replace('_', ' ', ...)``), so the name part holds no
``_``; blind marking writes ``Participant`` for the name; ``clean_filename`` removes characters a
file name cannot hold. Moodle 3.x team downloads are named per member (``<Group>-<Full Name>``).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

CANVAS_TAIL = re.compile(r"(?:(?P<late>LATE)_)?(?:anon_(?P<anon>[1-9A-HJ-NP-Za-km-z]{5})|(?P<user>\d+))"
                         r"_(?P<attachment>\d+)_(?P<file>.+)$", re.S)
# ContentZipper#add_text_or_url: a text entry or website URL submission, no attachment id
CANVAS_ONLINE = re.compile(r"(?:(?P<late>LATE)_)?(?:anon_(?P<anon>[1-9A-HJ-NP-Za-km-z]{5})|(?P<user>\d+))"
                           r"_(?P<kind>text|link)\.html$")
MOODLE_PREFIX = re.compile(r"^(?P<name>[^_/]*?)(?:_(?P<id>\d+))?_assignsubmission_(?P<kind>[a-z0-9]+)"
                           r"(?P<sep>_?)(?P<file>.*)$", re.S)
# a re-upload's suffix at the end of a file's stem: Canvas's -N and -<uuid>, a browser's " (N)"
AGAIN = re.compile(r"(?:-(?P<n>\d{1,3})|-(?P<uuid>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})|\s?\((?P<b>\d{1,3})\))$",
                   re.I)


Layout = Literal["Canvas", "Moodle"]
# a person, an anonymous submission, a group (a Moodle team), Moodle's team of students in no group
Owner = Literal["user", "anonymous", "group", "default team"]


@dataclass(frozen=True)
class Upload:
    """One entry of a bulk download, as the LMS named it."""
    layout: Layout
    owner: Owner
    lms_id: str  # user / participant id, anonymous id, group id; "" for Moodle's default team
    name: str  # the name part as written (a person's, a group's, "Participant")
    file: str  # the uploaded file's own name
    rank: tuple[int, ...] = (0,)  # orders uploads of one file: larger is newer
    late: bool = False
    kind: str = "file"  # Moodle's submission plugin (file, onlinetext, ...)

    @property
    def who(self) -> str:
        what = {"user": "user", "anonymous": "anonymous submission", "group": "group",
                "default team": "team of students in no group"}[self.owner]
        return f"{self.layout} {what} {self.lms_id}".rstrip() + (f" ({self.name})" if self.name else "")


def _canvas_at(base: str, start: int) -> Upload | None:
    """The Upload of a Canvas file name whose name part ends at ``start`` - 1, or None."""
    name = base[:max(start - 1, 0)]
    match, online = CANVAS_TAIL.match(base, start), CANVAS_ONLINE.match(base, start)
    if online:  # a text entry or URL: named as such (not a file to import)
        match = online
    if not match or (match["anon"] and name):  # Canvas writes no name beside an anonymous id
        return None
    owner: Owner = "anonymous" if match["anon"] else "user"
    lms_id = match["anon"] if match["anon"] else match["user"]
    if online:
        return Upload("Canvas", owner, lms_id, name, base[match.start("kind"):], late=bool(match["late"]),
                      kind=match["kind"])
    return Upload("Canvas", owner, lms_id, name, match["file"], (int(match["attachment"]),), bool(match["late"]))


def canvas(base: str, known: Collection[str] = frozenset()) -> Upload | None:
    """The Upload a Canvas file name says, or None. Where a name could be split two ways (a name
    ending in ``_<digits>``), the split whose user id is in ``known`` wins."""
    found = [u for u in (_canvas_at(base, start) for start in [0] + [i + 1 for i, ch in enumerate(base) if ch == "_"])
             if u is not None]
    return next((u for u in found if u.lms_id in known), found[0] if found else None)


def moodle(parts: Sequence[str]) -> Upload | None:
    """The Upload a Moodle entry's path (its parts) says, or None: its first part that Moodle
    named, a folder (3.x with ``_``, 4.1+ without) or a file of the download without folders."""
    for depth, part in enumerate(parts):
        match = MOODLE_PREFIX.match(part)
        if not match:
            continue
        folder = depth < len(parts) - 1
        if folder and match["file"]:  # a folder's name ends at the plugin type (and 3.x's "_")
            continue
        if not folder and not (match["sep"] and match["file"]):
            continue
        file = parts[-1] if folder else match["file"]
        name = match["name"]
        if match["id"]:
            return Upload("Moodle", "user", match["id"], name, file, kind=match["kind"])
        return Upload("Moodle", "default team", "", name, file, kind=match["kind"])
    return None


def parse(parts: Sequence[str], known: Collection[str] = frozenset()) -> Upload | None:
    """The Upload an archive entry's path (a tuple of its parts) names, or None."""
    found = moodle(parts)
    if found is None and len(parts) >= 1:
        found = canvas(parts[-1], known)
    return found


def notebook_stem(file: str, expected: Collection[str]) -> tuple[str, str, int]:
    """(stem, extension, again) of an uploaded file's name: a re-upload's suffix (Canvas's -N or
    -<uuid>, a browser's (N)) taken off where what is left is one of ``expected``; ``again``
    orders re-uploads (0 for the name as released)."""
    stem, dot, ext = file.rpartition(".")
    stem, ext = (stem, dot + ext) if dot else (file, "")
    bare, again = stem, 0
    while bare not in expected:
        match = AGAIN.search(bare)
        if not match or match.start() == 0:
            return stem, ext, 0
        again = again or int(match["n"] or match["b"] or 8)  # the last suffix: -1 .. -7, then a uuid
        bare = bare[:match.start()]
    return bare, ext, again


def canvas_sanitized(name: str) -> str:
    """A name as Canvas writes it in a file name (``sanitize_user_name``, then ``sanitize_file_name``,
    which keeps Ruby's ``[[:word:]]``: letters, marks, digits, connector punctuation)."""
    name = re.sub(r"_(\d+)_", r"\1", name).lower()
    return "".join(ch for ch in name if unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Pc")


def canvas_names(person_name: str) -> set[str]:
    """The names Canvas may write for a person (their sortable name "Last, First", sanitized), from
    "Last, First" or from "First Last", where the last name may be any number of the last words."""
    if "," in person_name:
        return {canvas_sanitized(person_name)}
    words = person_name.split()
    return {canvas_sanitized(", ".join((" ".join(words[k:]), " ".join(words[:k])))) for k in range(len(words))}


def group_key(text: str) -> str:
    """A group's name as Moodle writes it in a download and a roster may spell it: ``_`` as a
    space, runs of spaces as one, no case."""
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip().casefold()

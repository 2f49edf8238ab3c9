"""The LMSs' own rules, written down in Python for the tests: how Canvas and Moodle name the
entries of a bulk download, and how their grade imports match a row to a student.

Each function cites the LMS source file and function it follows; the tests build archives with
the naming rules and judge the exported grades files with the matching rules, so a test fails
when our import or export disagrees with the LMS, not with our own reading of it.
"""
import csv
import re
from datetime import datetime, timezone


# ----------------------------------------------------------------------------- Canvas: naming
def canvas_sortable(first, last):
    """Canvas's User#sortable_name: "Last, First"."""
    return f"{last}, {first}" if first else last


def canvas_sanitize_user_name(name):
    """lib/content_zipper.rb, ContentZipper#sanitize_user_name: ``_<digits>_`` joined, downcased."""
    name = re.sub(r"_(\d+)_", r"\1", name)
    name = re.sub(r"^(\d+)$", r"\1", name)
    return name.lower()


def canvas_sanitize_file_name(filename):
    """ContentZipper#sanitize_file_name: ``gsub(/[^[[:word:]]]/, "")`` (Ruby's [[:word:]] is
    Unicode letters, marks, digits and connector punctuation)."""
    import unicodedata
    return "".join(ch for ch in filename
                   if ch == "_" or unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Pc")


def canvas_sanitize_attachment_filename(filename):
    """ContentZipper#sanitize_attachment_filename: ``gsub(%r{[\\x00/\\\\:*?"<>|]+}, "_")``."""
    return re.sub(r'[\x00/\\:*?"<>|]+', "_", filename)


def canvas_entry(user_id, attachment_id, display_name, sortable_name=None, late=False, anonymous_id=None):
    """One entry of Canvas's "Download Submissions" zip (ContentZipper#get_filename and
    #add_upload_submission): ``[name_][LATE_]<user id | anon_<id>>_<attachment id>_<file>``.
    With anonymous grading (``anonymize_students?``) there is no name and the id is
    ``anon_<anonymous_id>``. For a group graded as a group, ``sortable_name`` is the group's name
    (Assignment#representatives renames the representative)."""
    users_name = None if anonymous_id else canvas_sanitize_user_name(sortable_name)
    ident = f"anon_{anonymous_id}" if anonymous_id else str(user_id)
    filename = canvas_sanitize_file_name("_".join(p for p in (users_name, "LATE" if late else None, ident)
                                                  if p is not None))
    return f"{filename}_{attachment_id}_{canvas_sanitize_attachment_filename(display_name)}"


def canvas_unique_filename(filename, existing, attempts=1):
    """app/models/attachment.rb, Attachment.make_unique_filename: ``<base>-N<ext>`` for N = 1..7,
    then ``<base>-<uuid><ext>`` (what a re-upload of a name already in the student's Submissions
    folder is called)."""
    ext = re.search(r"(\.[A-Za-z][A-Za-z0-9]*)*(\.[A-Za-z0-9]*)$", filename)
    ext = ext[0] if ext else ""
    base = filename[:len(filename) - len(ext)]
    if attempts <= 1 and filename not in existing:
        return filename
    for n in range(max(attempts, 1), 8):
        if f"{base}-{n}{ext}" not in existing:
            return f"{base}-{n}{ext}"
    return f"{base}-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d{ext}"


# ----------------------------------------------------------------------------- Moodle: naming
def moodle_clean_filename(name):
    """lib/moodlelib.php clean_filename (PARAM_FILE): control characters and ``/ \\ : * ? " < > |``
    removed (as clean_param does for file names)."""
    return re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]', "", name)


def moodle_entry(version, fullname, uniqueid, file, *, folders=True, plugin="file", team_group=None,
                 filepath="/"):
    """One entry of Moodle's "Download all submissions".

    3.x (mod/assign/locallib.php, assign::download_submissions): prefix =
    ``clean_filename(str_replace('_', ' ', [group-]fullname) . '_' . uniqueid . '_')``; folders:
    ``prefix . 'assignsubmission_' . type . '_' . filepath . file``; without: ``prefix .
    'assignsubmission_file_' . file``.
    4.1+ (mod/assign/classes/downloader.php, get_student_prefix and load_submissionplugin_filelist):
    prefix = ``clean_filename(str_replace('_', ' ', fullname) . '_' . uniqueid)``, or for a team
    submission ``clean_filename(str_replace('_', ' ', groupname) . '_' . groupid)`` (``team_group``
    = (name, id); id None for "Default group", which gets no id); folders: ``clean_filename(prefix
    . '_assignsubmission_' . type) . filepath . file``; without: ``clean_filename(prefix .
    '_assignsubmission_' . type . '_' . file)``. Blind marking passes "Participant" as fullname."""
    if version == "3":
        prefix = moodle_clean_filename(fullname.replace("_", " ") + "_" + str(uniqueid) + "_")
        if folders:
            return f"{prefix}assignsubmission_{plugin}_{filepath}{file}"
        return moodle_clean_filename(f"{prefix}assignsubmission_{plugin}_{file}")
    if team_group is not None:
        name, gid = team_group
        prefix = moodle_clean_filename(name.replace("_", " ") + (f"_{gid}" if gid is not None else ""))
    else:
        prefix = moodle_clean_filename(fullname.replace("_", " ") + "_" + str(uniqueid))
    if folders:
        return moodle_clean_filename(f"{prefix}_assignsubmission_{plugin}") + filepath + file
    return moodle_clean_filename(f"{prefix}_assignsubmission_{plugin}_{file}")


# ----------------------------------------------------------------------------- import rules
def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def canvas_import(path, students):
    """app/models/gradebook_importer.rb (GradebookImporter#parse! / #identify_students, as far
    as it can be written down): the header row names Student, ID, SIS User ID, SIS Login ID,
    Section and the assignment columns; a row whose first cell is "Points Possible" is skipped;
    every other row is matched by its ID (the Canvas user id), else by SIS User ID, else SIS Login
    ID, else by the student's name, which may find several students or the wrong one.
    ``students``: {canvas user id: name}. Returns {canvas user id: grade text} or raises."""
    rows = read_rows(path)
    header = rows[0]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], header
    out = {}
    for row in rows[1:]:
        if row[0].strip().startswith("Points Possible"):
            continue
        user_id, sis, login = row[1].strip(), row[2].strip(), row[3].strip()
        assert user_id or sis or login, f"row {row} would be matched by name only ({row[0]!r})"
        assert user_id in students, f"row {row}: Canvas has no user {user_id}"
        assert user_id not in out, f"row {row}: user {user_id} twice"
        out[user_id] = row[5]
    return out


def moodle_csv_import(path, users, field="Email address"):
    """grade/import/csv (classes/load_data.php, check_user_exists and the per-row user mapping):
    the column mapped under "Identify user" is matched against the user field (email and
    username case-insensitively), exactly one user must match; an empty cell maps nothing, and
    the row's grade then goes to the previous row's user (or the import stops on the first row).
    ``users``: {identifier: user}. Returns {user: grade text} or raises."""
    rows = read_rows(path)
    index = rows[0].index(field)
    grade_col = len(rows[0]) - 1
    out = {}
    lookup = {k.casefold() if field == "Email address" else k: v for k, v in users.items()}
    for row in rows[1:]:
        value = row[index].strip()
        assert value, f"row {row}: empty {field}: its grade would land on the previous row's student"
        key = value.casefold() if field == "Email address" else value
        assert key in lookup, f"row {row}: no Moodle user with {field} {value!r}"
        assert lookup[key] not in out, f"row {row}: {lookup[key]} matched twice"
        out[lookup[key]] = row[grade_col]
    return out


def moodle_worksheet_import(path, participants, max_grade):
    """mod/assign/feedback/offline/importgradeslib.php (assignfeedback_offline_grade_importer
    init/next) and importgradesform.php: the columns "Identifier", "Grade" and "Last modified
    (grade)" must be there; the participant id is the Identifier with "Participant " cut off,
    unknown ids are skipped; a grade that is empty, negative or above the assignment's maximum is
    skipped, as is one whose "Last modified (grade)" is older than Moodle's own grade (unless the
    teacher ticks "ignore modified"). ``participants``: {participant id: user}.
    Returns ({user: grade text}, [skipped rows])."""
    rows = read_rows(path)
    header = rows[0]
    ident, grade, modified = (header.index(c) for c in ("Identifier", "Grade", "Last modified (grade)"))
    out, skipped = {}, []
    for row in rows[1:]:
        uid = row[ident][len("Participant "):]
        user = participants.get(uid)
        value = row[grade].strip()
        if user is None or value == "" or float(value) < 0 or float(value) > max_grade:
            skipped.append(row)
            continue
        when = datetime.strptime(row[modified], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
        assert when <= datetime.now(timezone.utc), row
        assert user not in out, f"row {row}: {user} twice"
        out[user] = value
    return out, skipped

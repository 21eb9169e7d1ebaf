"""JS7's wire shapes, modelled once.

Every JSON object the reference components exchange with a JS7 client has
one owner here: a ``msgspec.Struct`` whose fields, nesting, optionality and
defaults are JS7 2.x's (the engine's codec tests in ``sos-berlin/js7`` —
each module names its sources). Tagged unions on ``TYPE`` decode a command or
a state in one step; ``codec.decode`` turns every shape error into JS7's
problem answer at the edge, so a handler only ever sees a well-formed value.

Where the reference needs something JS7 has not, the struct or field says
``reference-only`` in its docstring, and the README lists it.
"""

# The JS7 release whose wire format the reference follows, with the
# reference's own pre-release tag (what ``LoggedIn.js7Version`` and the
# overviews report).
JS7_VERSION = "2.8.0-js7ha"
# JS7's overviews name the build; the reference's is its release date.
BUILD_ID = "js7ha-2026-12-06"
RELEASE_DATE = "2026-12-06"  # of this reference's wire format, JOC's "date"

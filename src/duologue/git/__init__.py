"""The git boundary: the only package that knows how git lays out a repository, the only
one that imports GitPython, and the only one that opens a ``Repository``.

- ``folder``: the git folder found with a few ``stat`` calls, and what duologue keeps in it;
- ``repository``: ``Repository``, every git operation duologue performs;
- ``failures``: git's refusals turned into sentences;
- ``lock``: the workspace lock;
- ``publish_journal`` / ``sync_journal``: how an interrupted publish or sync is undone or
  finished;
- ``transaction``: the way in for every command that changes the clone — the lock held and
  any interrupted command repaired first;
- ``sparse``: the refusal when git keeps workspace files out of the work tree.

Importing the package imports nothing, so the quick commands can use ``folder`` without
loading GitPython.
"""

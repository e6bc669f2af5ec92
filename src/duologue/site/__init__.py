"""The site build: load → link → render → write (see ``duologue.site.build``).

Modules: ``load`` (scan inputs, parse posts), ``linking`` (threads, URLs, keys),
``markdown`` (bodies; the cmarkgfm and nh3 boundary), ``pages`` (the Jinja2
boundary, with ``templates/``), ``feeds`` (the feedgen boundary), ``writer`` (the
only code touching the output folder), ``cache`` (what the last build did).
"""

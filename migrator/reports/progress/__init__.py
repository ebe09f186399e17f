"""`migrator report`: how far the migration has come, for the people who lead it.

`model.build_report` turns an audit result (and, optionally, the history of
the counts over git commits) into a `ProgressReport`; one module per format
renders it: `console` (Rich), `markdown`, `json_doc` (`migrator.report/1`) and
`html` (one self-contained page with inline SVG charts).
"""

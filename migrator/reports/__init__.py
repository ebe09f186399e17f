"""Report renderers: pure functions from an `AuditResult` to text. They never print."""

"""Watching a page for Content-Security-Policy violations: the browser's own
`securitypolicyviolation` events and its console reports of refused resources."""

from __future__ import annotations

# Runs before any page script (and is not subject to the page's policy).
VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} ` +
    `at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


class ViolationWatch:
    """Attach to a browser context; `.for_page(page)` lists what was refused on the page."""

    def __init__(self, context):
        self.console: list[str] = []
        context.add_init_script(VIOLATION_LISTENER)
        context.on("page", self._watch)
        for page in context.pages:
            self._watch(page)

    def _watch(self, page) -> None:
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def take(self, page) -> list[str]:
        """Violations seen since the last call: events on the current document and console."""
        events = page.evaluate("window.__cspViolations || []")
        page.evaluate("window.__cspViolations = []")
        seen, self.console = [*events, *self.console], []
        return seen

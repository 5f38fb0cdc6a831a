"""The operations dashboard in the Django admin (/admin/jobs/overview/): overview, job search
and detail, bulk actions, queues, cron and nodes. Read docs/dashboard.md first.

Modules: `access` (who may do what), `search` (the search syntax, pure), `selectors` (reads),
`actions` (operator actions through the engine's services, audited), `present` (times, masked
values), `views` (thin), `admin` (the admin entry and its URLs)."""

"""Digital Samba Embedded's REST API and room page, as documented (facts.md §2), for one team.

Routes under `/sandbox/digitalsamba/` (each API path also with a trailing slash):

- `api/v1/rooms` (GET, POST), `api/v1/rooms/{room}` (GET, PATCH, DELETE),
  `api/v1/rooms/{room}/token` (POST): `sandbox.digitalsamba.rooms`; `{room}` is the UUID or
  the friendly_url.
- `api/v1/sessions` (GET), `api/v1/sessions/{session}` (GET),
  `api/v1/sessions/{session}/participants` (GET), `api/v1/sessions/{session}/end` (POST):
  `sandbox.digitalsamba.sessions`.
- `api/v1/webhooks` (GET, POST), `api/v1/webhooks/{webhook}` (GET, PATCH, DELETE),
  `api/v1/events` (GET): `sandbox.digitalsamba.webhooks`.
- `room/{friendly_url}?token=<JWT>`: the room page (`sandbox.digitalsamba.page`), standing for
  `https://{team}.digitalsamba.com/{friendly_url}`.

The team is `SANDBOX_DIGITALSAMBA_TEAM_ID` with the developer key
`SANDBOX_DIGITALSAMBA_DEVELOPER_KEY`. Every API call is logged and faulted as target
`digitalsamba` (`sandbox.faults`); docs/upstream-contracts.md says what is documented and what
the sandbox chooses.
"""

"""A Clickatell simulator: the REST, Platform and HTTP APIs on one aiohttp server.

It implements docs/api-contract.md (the seeds 000-004 where the page defers
to them) and is written without the client, so that it catches the client's
mistakes. Importing it needs only aiohttp.

    sim = Simulator(Account(api_key="k", username="u", password="p", api_id="3"))
    await sim.start()                     # 127.0.0.1, a free port
    sim.base_url("rest")                  # http://127.0.0.1:PORT/rest
    sim.inject("unavailable", count=1)    # the next API request answers 503
    sim.account.callback_url = "http://127.0.0.1:8123/status"  # status callbacks go there
    sim.account.mo_url = "http://127.0.0.1:8123/reply"
    sim.inject_inbound("2799900001", "2799900999", "YES")   # a reply from a handset
    await sim.stop()

The same state over HTTP, as JSON under /_sim/: GET/DELETE requests, GET
messages, GET/PATCH account (with the callback settings), GET/POST/DELETE
faults, GET/PATCH config (rate and timings), GET/DELETE callbacks, POST
inbound, POST reset (control.py lists them).

Choices where the contract page is silent:

- Checks run in this order. REST: Accept (166), X-Version (165), token
  (001), IP lockdown (007), resource (161) and method (160), Content-Type on
  POST (167), then the body (100, 101, ...). Platform: Accept (30), key (1),
  lockdown (7), resource (41) and method (42), Content-Type (30), body. HTTP:
  resource and method, user and password (001), api_id (108), lockdown (007),
  then the command. A 405 carries an Allow header.
- Accept may be a list; the first of application/json, application/xml and
  */* (JSON) wins. The One API (/v1) speaks JSON only; /messages and REST also
  XML. An Accept naming neither, or XML on /v1, is 166 / One API 30.
- JSON bodies are held to the contract's JSON types: REST flags are the
  integers 0/1 (a boolean is 101), Platform flags are booleans (an integer is
  23); XML elements and HTTP parameters are text ("0"/"1", "true"/"false").
  Unknown parameters are refused (101 / 23). Rough ranges: validityPeriod
  1-10080 minutes, callback 0-7, userPriorityQueue 1-3, maxMessageParts 1-35,
  maxCredits above 0, requiredFeatures 0-65535; udh must be hex (102); a
  sender is up to 15 digits or up to 11 characters (106, One API 23); a
  clientMessageId with whitespace is 120 (One API 23). REST `to` must be a
  list of strings; each One API entry needs `channel: "sms"`, `to`, `content`.
- scheduledDeliveryTime needs a zone: Z or +0000/+00:00 on REST and HTTP
  (`scheduled_time`), any offset on the Platform (seed 003 shows +0200); more
  than 7 days ahead is 101 (seed 001 section 2). A time in the past sends at
  once (004).
- Too many recipients is 101 on REST and HTTP, 22 on the Platform.
- Parts: GSM-7 160/153 septets (extension table 2, a character outside both
  tables 1, as the "?" it becomes: text outside GSM-7 without unicode=1 is
  accepted and recorded as GSM-7), UCS-2 70/67 code units, 8-bit 140/134
  bytes; escape pairs and surrogate pairs are never split. More than 35 parts,
  or more than maxMessageParts/concat, is 113 (One API 24). REST binary=1 and
  Platform binary=true take the text as hex (else 101 / 23). udh does not
  change the count.
- When every recipient is refused: 400 if all were refused as invalid (105),
  else 410. Numbers 2799999xxx whose xxx is not one of 105, 114, 121, 122,
  128, 250 are ordinary numbers. Charging covers accepted messages only; the
  402 check is made before anything is kept, so a refused request changes
  nothing.
- Statuses follow a timeline (state.Timings, zero delays by default): queued
  002, delivered to gateway 003, received 004; a scheduled message is 011
  "Message queued for later delivery" until its time. Numbers 2799998 + a
  status code end in it instead (005, 007 after the gateway, 009, 010 charged
  nothing, 012). A stop catches 002 and 011: 006, and the charge back;
  stopping a message past them answers its status unchanged, with 200.
- Status queries answer from the same timeline: REST GET /rest/message/{id},
  HTTP querymsg, One API GET /v1/message/{id}; an unknown ID is 001 "Message
  unknown" (One API: {"status": "UNKNOWN"}), not an error.
- Callbacks (callbacks.py): status callbacks to the account's callback_url as
  each step comes, legacy ones by the message's callback level 0-7, in the
  account's callback_method; replies injected with `inject_inbound` or POST
  /_sim/inbound go to its mo_url in its mo_format; retried on anything but a
  2xx or a redirect, per Timings; `callbacks_settled()` waits for them.
- Rate limit (and the `rate_limited` fault): 429 with Retry-After; REST and
  HTTP say legacy code 130 "Maximum MT limit exceeded until <UNIX time>" (the
  seed's only rate code, the time being now plus Retry-After), the Platform
  One API code 43. The bucket holds one second's worth (at least 1); a request
  larger than the bucket passes when it is full and leaves it in debt. Only
  sends are limited; tokens are taken after the request has been validated.
- HTTP answers API errors with 200 and an ERR line; an unknown path is 404
  (`ERR: 161, ...`), a wrong method 405 (`ERR: 160, ...`; every command takes
  GET and POST), the rate limit 429 and `unavailable` 503 (`ERR: 901, ...`).
  POST reads an url-encoded form over the query string. delmsg takes
  `apimsgid` (or `climsgid`); a missing or unknown ID is `ERR: 109, Missing
  message ID`. routeCoverage of an invalid number is `ERR: 105, ...`.
- Coverage: 114, 121 and 128 numbers are not routable (no minimumCharge);
  122 and 250 numbers are routable; 105 numbers and malformed ones are 400/105.
- Platform request-level errors: `{"messages": [], "error": {...}}` on
  /v1/message, `{"error": {...}}` on the rest of /v1, seed 003's
  errorCode/error/errorDescription (JSON or XML) on /messages.
- Paths outside the three APIs and /_sim/ answer a plain 404 and are recorded
  with flavour None; only faults for every flavour (flavours=None) touch them.
- `drop` closes the connection of one request per count. aiohttp's client
  (3.14 here) retries an idempotent request (GET, DELETE) once after a dropped
  connection, so a GET client sees `drop` only with count=2 or more.
- A request whose connection was dropped is recorded with status 0. `reset`
  keeps the account and messages_per_second (the bucket is refilled).
- XML bodies that declare a DTD or entities are malformed (100).
"""

from .app import Simulator, flavour_of, run_forever, serve
from .callbacks import CallbackAttempt
from .codes import ApiError
from .state import Account, Fault, FaultKind, Message, RecordedRequest, Timings

__all__ = [
    "Account",
    "ApiError",
    "CallbackAttempt",
    "Fault",
    "FaultKind",
    "Message",
    "RecordedRequest",
    "Simulator",
    "Timings",
    "flavour_of",
    "run_forever",
    "serve",
]

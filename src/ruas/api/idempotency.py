"""``Idempotency-Key`` for unsafe requests: a retry returns the stored response and creates nothing twice.

How it works (one transaction per request, see ``deps.get_db``):

1. No key: the operation runs as usual.
2. A stored record for (principal, key): when method, path and body hash are the same, its response is
   replayed (header ``Idempotent-Replayed: true``) and nothing runs; a different request under the same
   key is refused (422).
3. Otherwise the key is *claimed* first (a row in ``idempotency_keys``, unique per principal and key),
   then the operation runs, then the claim is completed with the response, all in the request's
   transaction. A concurrent request with the same key waits on the unique index and, when the first
   commits, replays its response; if the first failed, nothing was stored and the second runs.
4. A failed operation rolls the whole transaction back, claim included: nothing changes and a retry
   with the same key runs again.

Records are kept; a retention job may delete rows older than the longest retry window of the clients.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ruas.domain.errors import Conflict, InvalidInput
from ruas.services.accounts import Principal
from ruas.store.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def principal_key(principal: Principal) -> str:
    """Whose key space a request uses: keys of different accounts never collide."""
    return f"user:{principal.user_id}" if principal.user_id is not None else f"name:{principal.username}"


def request_hash(method: str, path: str, payload: Any) -> str:
    """A stable digest of the request: method, path and the body as canonical JSON.

    >>> request_hash("POST", "/a", {"x": 1, "y": [2]}) == request_hash("POST", "/a", {"y": [2], "x": 1})
    True
    >>> request_hash("POST", "/a", {"x": 1}) == request_hash("POST", "/a", {"x": 2})
    False
    """
    raw = json.dumps({"method": method, "path": path, "body": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def check_key(key: str) -> str:
    """Validate an ``Idempotency-Key`` header: 1-200 visible ASCII characters.

    >>> check_key("b4f1c2d0-retry-1")
    'b4f1c2d0-retry-1'
    >>> check_key("with space")
    Traceback (most recent call last):
    ...
    ruas.domain.errors.InvalidInput: Idempotency-Key must be 1-200 visible ASCII characters (e.g. a UUID)
    """
    if not _KEY.match(key):
        raise InvalidInput(f"{HEADER} must be 1-200 visible ASCII characters (e.g. a UUID)", field=HEADER)
    return key


def _stored(db: Session, owner: str, key: str) -> IdempotencyRecord | None:
    return db.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.principal == owner, IdempotencyRecord.key == key)
    )


def _replay(record: IdempotencyRecord, digest: str, method: str, path: str, headers: dict[str, str]) -> JSONResponse:
    if record.request_hash != digest or record.method != method or record.path != path:
        raise InvalidInput(
            f"this {HEADER} was used for a different request ({record.method} {record.path}); "
            "use a new key for a new request",
            field=HEADER,
        )
    return JSONResponse(record.response, status_code=record.status_code, headers={**headers, REPLAYED_HEADER: "true"})


def idempotent(
    db: Session,
    principal: Principal,
    key: str | None,
    *,
    method: str,
    path: str,
    payload: Any,
    now: datetime,
    status_code: int,
    operation: Callable[[], dict[str, Any]],
    headers: Callable[[dict[str, Any]], dict[str, str]] = lambda _body: {},
) -> JSONResponse:
    """Run ``operation`` once per (principal, key); replay its stored JSON response on retries."""
    if key is None:
        body = operation()
        return JSONResponse(body, status_code=status_code, headers=headers(body))
    check_key(key)
    owner = principal_key(principal)
    digest = request_hash(method, path, payload)
    found = _stored(db, owner, key)
    if found is not None:
        return _replay(found, digest, method, path, headers(found.response))
    claim = IdempotencyRecord(
        principal=owner,
        key=key,
        method=method,
        path=path,
        request_hash=digest,
        status_code=0,
        response={},
        created_at=now,
    )
    db.add(claim)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()  # nothing of this request was written yet
        found = _stored(db, owner, key)
        if found is None:
            raise Conflict(f"a request with this {HEADER} is in progress; retry", field=HEADER) from None
        return _replay(found, digest, method, path, headers(found.response))
    body = operation()
    claim.status_code = status_code
    claim.response = body
    db.flush()
    return JSONResponse(body, status_code=status_code, headers=headers(body))

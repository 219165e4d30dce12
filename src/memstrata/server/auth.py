"""API keys: each key belongs to one tenant; the store keeps only a hash of its secret.

A secret looks like ``ms_<43 url-safe characters>`` (256 random bits). Being that long and random,
one SHA-256 is enough to store it safely (no salt or slow hash is needed against guessing, unlike
passwords). The key's public id (``key_<hex>``) names it in listings and revocation.

Nothing here knows about HTTP: the REST and MCP servers call ``Keyring.tenant_for(header)``
and serve the request with ``Tenants.memory(tenant)``. Keys are reached through the store's
``ApiKeys`` capability (``Tenants.keys``), never by opening a store elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from memstrata.errors import ConfigurationError, NotFoundError
from memstrata.memory import Memory
from memstrata.options import Retrieval
from memstrata.ports import LLM, ApiKey, ApiKeys, Clock, Embedder, Store, SystemClock
from memstrata.types import DEFAULT_TENANT, check_id

SECRET_PREFIX = "ms_"
KEY_ID_PREFIX = "key_"


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a secret: what the store keeps and looks keys up by."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


def create_key(
    keys: ApiKeys, tenant: str, *, name: str | None = None, clock: Clock | None = None
) -> NewKey:
    """Create a key for ``tenant`` and store its hash; return the secret (shown only now)."""
    check_id(tenant, "tenant")
    if name is not None:
        check_id(name, "key name")
    secret = new_secret()
    key = ApiKey(
        id=KEY_ID_PREFIX + secrets.token_hex(8),
        tenant=tenant,
        key_hash=hash_secret(secret),
        created_at=(clock or SystemClock()).now(),
        name=name,
    )
    keys.put_api_key(key)
    return NewKey(key=key, secret=secret)


def revoke_key(keys: ApiKeys, key_id: str, *, clock: Clock | None = None) -> None:
    """Revoke a key by its public id; ``NotFoundError`` when no active key has that id."""
    if not keys.revoke_api_key(key_id, (clock or SystemClock()).now()):
        raise NotFoundError(f"no active API key {key_id!r}; `memstrata keys list` shows them")


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer ms_…`` header, or None when there is none."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(SECRET_PREFIX) or len(value) > 256:
        return None
    return value


class Keyring:
    """Maps a request's bearer secret to its tenant.

    ``required`` is fixed when the server starts: a store with API keys requires one on every
    request (even if every key is later revoked); a store without keys serves ``open_tenant``
    to anyone who can reach it, which is why such a server only binds to loopback.
    """

    def __init__(self, keys: ApiKeys, *, required: bool | None = None, open_tenant: str) -> None:
        self.keys = keys
        self.required = has_active_keys(keys) if required is None else required
        self.open_tenant = open_tenant

    def tenant_for(self, authorization: str | None) -> str | None:
        """The tenant a request acts for, or None when it must be refused (401)."""
        if not self.required:
            return self.open_tenant
        secret = bearer_secret(authorization)
        if secret is None:
            return None
        digest = hash_secret(secret)
        key = self.keys.api_key_by_hash(digest)
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            return None
        return key.tenant


class Tenants:
    """One ``Memory`` per tenant, all over the same store and embedder (built on first use).

    ``store`` and ``embedder`` are objects or specs as ``Memory`` takes them; they are resolved
    once, and a store opened here from a path is closed by ``close`` (or at the end of a
    ``with`` block).
    """

    def __init__(
        self,
        store: Store | str | Path,
        *,
        embedder: Embedder | str | None,
        retriever: str | Retrieval = "default",
        clock: Clock | None = None,
        tenant: str = DEFAULT_TENANT,
        llm: LLM | None = None,
        parallel_searches: int | threading.Semaphore = 1,
    ) -> None:
        first = Memory(
            store, embedder=embedder, retriever=retriever, clock=clock, tenant=tenant, llm=llm,
            parallel_searches=parallel_searches,
        )  # fmt: skip
        self.store = first.store
        self.embedder = first.embedder
        self.retrieval = first.retrieval
        self.clock = clock
        self.llm = llm
        self.owns_store = isinstance(store, str | Path)
        self._memories: dict[str, Memory] = {tenant: first}
        #: Every tenant's searches share one bound on searches at once.
        self.search_gate = first.search_gate
        self._lock = threading.Lock()

    def known(self, tenant: str) -> Memory | None:
        """The tenant's ``Memory`` if it was made already (``memory`` makes it)."""
        return self._memories.get(tenant)

    def memory(self, tenant: str) -> Memory:
        with self._lock:
            memory = self._memories.get(tenant)
            if memory is None:
                memory = Memory(
                    self.store,
                    embedder=self.embedder,
                    retriever=self.retrieval,
                    clock=self.clock,
                    tenant=tenant,
                    llm=self.llm,
                    parallel_searches=self.search_gate,
                )
                self._memories[tenant] = memory
            return memory

    @property
    def keys(self) -> ApiKeys:
        """The API keys of the tenants' store (what ``Keyring`` and ``memstrata keys`` use)."""
        return self.store

    def close(self) -> None:
        if self.owns_store:
            self.store.close()

    def __enter__(self) -> Tenants:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def has_active_keys(keys: ApiKeys) -> bool:
    return any(key.revoked_at is None for key in keys.api_keys())


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, keys_required: bool, insecure: bool) -> None:
    """Refuse to serve without API keys on anything but loopback, unless told ``insecure``."""
    if keys_required or insecure or is_loopback(host):
        return
    raise ConfigurationError(
        f"refusing to listen on {host} without API keys: anyone who can reach it could read "
        "and change every memory. Create a key first (`memstrata keys create --tenant NAME`), "
        "bind to 127.0.0.1, or pass --insecure if a proxy in front does the authentication"
    )

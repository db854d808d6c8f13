"""Sphinx configuration: ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``."""

from __future__ import annotations

import configparser
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Document the checkout this file belongs to, not whatever tornado_alf is installed.
sys.path.insert(0, str(ROOT))

import tornado_alf  # noqa: E402 - after the path is set

_metadata = configparser.ConfigParser()
_metadata.read(ROOT / "setup.cfg")

project = "tornado-alf"
author = "tornado-alf contributors"
copyright = "2026, tornado-alf contributors"
release = _metadata["metadata"]["version"]
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]

# Other pages (cli.rst, observability.rst) join index.rst's toctree by its glob; sections
# shared with README and example files are pulled in by include directives, not built alone.
exclude_patterns = ["_build", "_sections", "examples"]

default_role = "py:obj"
# Pages say `TornadoClient`, `TokenError`...: resolve them in the package users import.
rst_prolog = ".. currentmodule:: tornado_alf\n"
nitpicky = True
# Without intersphinx (CI reaches no documentation site) names outside this project
# cannot resolve; they are named in text and signatures all the same.
nitpick_ignore_regex = [
    (r"py:.*", r"(tornado|redis|valkey|asyncio|cryptography|urllib3|pymemcache|aiomcache|django|joserfc|opentelemetry)(\..*)?"),
    (r"py:.*", r"(typing|collections\.abc|datetime|dataclasses|logging|warnings|types|os)\..*"),
    (r"py:.*", r"(str|bytes|int|float|bool|dict|list|tuple|set|frozenset|object|None|type)"),
    (r"py:.*", r"(Any|Optional|Union|Callable|Awaitable|Generator|Iterable|Mapping|Sequence|Collection)"),
    (r"py:.*", r"(AsyncHTTPClient|HTTPRequest|HTTPResponse|HTTPClientError|HTTPHeaders|RequestHandler)(\..*)?"),
    (r"py:.*", r"(ValueError|TypeError|RuntimeError|ImportError|DeprecationWarning|Exception)"),
    # OnBehalfOf is made by TornadoClient.on_behalf_of, never by users: its constructor names internals.
    (r"py:class", r"tornado_alf\._(manager|reauth)\.(TokenManager|Reauthentication)"),
    # asyncio.Future as the C module names it (fetch's return type).
    (r"py:class", r"_asyncio\.Future"),
    # The self type of AuthServer.start and __aenter__ (a subclass gets itself back): private.
    (r"py:class", r"tornado_alf\.testing\._Server"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}

# Public names live in private modules; document them where users import them from,
# so signatures and cross-references point at one place.
for _name in tornado_alf.__all__:
    _value = getattr(tornado_alf, _name)
    if hasattr(_value, "__module__") and not isinstance(_value, str):
        _value.__module__ = "tornado_alf"

html_theme = "alabaster"
html_theme_options = {
    "description": "OAuth 2.0 client credentials for Tornado",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []

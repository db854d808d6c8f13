"""Compatibility shim for code written for the original tornado-alf (package ``tornadoalf``).

``from tornadoalf.client import Client``, ``tornadoalf.manager.TokenManager``,
``tornadoalf.token.Token`` and the ``TokenError`` / ``TokenHTTPError`` names keep
working on top of `tornado_alf.TornadoClient`. Creating a `~tornadoalf.client.Client`
or a `~tornadoalf.manager.TokenManager` emits a `DeprecationWarning`; new code
should use ``from tornado_alf import TornadoClient``. See ``docs/migration.rst``.

.. versionadded:: 1.0
"""

from __future__ import annotations

__all__: list[str] = []

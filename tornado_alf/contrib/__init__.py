"""Integrations with optional dependencies: import each module only with its extra installed.

- `tornado_alf.contrib.opentelemetry` (extra ``[otel]``): OpenTelemetry metrics and spans.

The core never imports this package (``.importlinter`` checks it).
"""

from __future__ import annotations

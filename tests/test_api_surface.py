"""Every public name is documented and typed: `tornado_alf.__all__` and `tornado_alf.testing.__all__`.

Public means listed in an ``__all__``, and for a class each attribute without a
leading underscore that it defines itself. Each needs a docstring and annotations
on every parameter and the return; each constructor argument and dataclass field
is named by an ``:arg name:`` line of the class docstring (tornado's dialect).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from typing import Any, Callable, Protocol

import pytest

import tornado_alf
import tornado_alf.testing

MODULES = (tornado_alf, tornado_alf.testing)
PUBLIC = sorted(
    {(module.__name__, name) for module in MODULES for name in module.__all__ if name != "__version__"}
)


def public_object(module_name: str, name: str) -> Any:
    return getattr(next(module for module in MODULES if module.__name__ == module_name), name)


def own_members(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The public functions and property getters ``cls`` defines itself."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if isinstance(value, property) and value.fget is not None:
            yield name, value.fget
        elif inspect.isfunction(value):
            yield name, value


def missing_annotations(function: Callable[..., Any]) -> list[str]:
    annotations = function.__annotations__
    parameters = [name for name in inspect.signature(function).parameters if name not in ("self", "cls")]
    return [name for name in [*parameters, "return"] if name not in annotations]


def documented_args(doc: str) -> set[str]:
    return set(re.findall(r":arg (?:[\w.\[\], ]+ )?(\w+):", doc))


def constructor_args(cls: type) -> list[str]:
    """The arguments the class docstring must name: dataclass fields, else its own ``__init__``'s."""
    if dataclasses.is_dataclass(cls):
        return [field.name for field in dataclasses.fields(cls) if field.init]
    init = vars(cls).get("__init__")
    if init is None or Protocol in cls.__mro__:  # a Protocol's __init__ is typing's placeholder
        return []
    return [name for name in inspect.signature(init).parameters if name != "self"]


@pytest.mark.parametrize(("module_name", "name"), PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_is_documented_and_typed(module_name: str, name: str) -> None:
    obj = public_object(module_name, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    if inspect.isfunction(obj):
        assert missing_annotations(obj) == [], name
        return
    assert inspect.isclass(obj), f"{name} is neither a class nor a function"
    doc = obj.__doc__ or ""
    undocumented = [arg for arg in constructor_args(obj) if arg not in documented_args(doc)]
    assert undocumented == [], f"{name}: no ':arg' line for {undocumented}"
    if "__init__" in vars(obj) and not dataclasses.is_dataclass(obj) and Protocol not in obj.__mro__:
        assert missing_annotations(obj.__init__) == [], f"{name}.__init__"
    for member, function in own_members(obj):
        assert function.__doc__, f"{name}.{member} has no docstring"
        assert missing_annotations(function) == [], f"{name}.{member}"


def test_the_checks_catch_what_they_look_for() -> None:
    class Gaps:
        """Takes one argument.

        :arg int first: documented.
        """

        def __init__(self, first: int, second: str) -> None:
            self.values = (first, second)

        def method(self, argument: int) -> None:
            pass

    assert missing_annotations(lambda value, *, flag: None) == ["value", "flag", "return"]
    assert missing_annotations(Gaps.method) == []
    assert dict(own_members(Gaps)) == {"method": Gaps.method}
    assert Gaps.method.__doc__ is None
    assert constructor_args(Gaps) == ["first", "second"]
    assert documented_args(Gaps.__doc__ or "") == {"first"}
    assert documented_args(":arg int value: a number.\n:arg other: the rest.") == {"value", "other"}

"""compat mirrors the public API of the `inngest` Python SDK 0.5.19, so migrating is an import change.

Two checks:
- Our own frozen list of the stock SDK's public names and signatures (written by hand below, never
  built from `inngest`) is checked against `compat` with `inspect.signature` / `model_fields`.
- The same list is checked against the installed stock SDK (a test dependency), and the stock SDK is
  compared with compat directly, so drift on either side is caught.

Only names, parameter kinds and defaults are compared; annotations are not (they name each package's
own types). Whatever is deliberately not mirrored is listed with the reason.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import importlib.util
import inspect
from typing import Any

import pydantic
import pytest

from compat import inngest

STOCK_VERSION = "0.5.19"

REQUIRED = "<required>"  # a parameter or field without a default
SENTINEL = "<EmptySentinel>"  # the SDK's "not given" default of output_type (a class)
POS = "positional_or_keyword"
KW = "keyword_only"
VAR = "var_positional"

# --- top-level names ------------------------------------------------------------------------------

MIRRORED_NAMES = [
    "Batch",
    "Cancel",
    "Concurrency",
    "Context",
    "ContextSync",
    "Debounce",
    "Event",
    "Function",
    "Inngest",
    "JSON",
    "NonRetriableError",
    "ParallelMode",
    "Priority",
    "RateLimit",
    "RetryAfterError",
    "SendEventsResult",
    "Singleton",
    "Step",
    "StepError",
    "StepSync",
    "Throttle",
    "Timeouts",
    "TriggerCron",
    "TriggerEvent",
]

NOT_MIRRORED_NAMES = {
    "Middleware": "middleware is out of scope (no middleware hooks run around compat's step engine)",
    "MiddlewareSync": "middleware is out of scope",
    "TransformOutputResult": "middleware internals (the transform_output hook's argument)",
    "StepMemos": "middleware internals (the transform_input hook's argument)",
    "Serializer": "serializers are out of scope: step and function outputs are stored as JSON",
    "PydanticSerializer": "serializers are out of scope",
    "Streaming": "an option of the HTTP serve() adapters; compat functions run in a Temporal worker",
}

COMPAT_ONLY_NAMES = {
    "Group": "the type of ctx.group, exported for annotations (stock keeps it internal)",
    "GroupSync": "the type of ContextSync.group, exported for annotations",
}

NOT_MIRRORED_MODULES = {
    "inngest.fast_api": "HTTP serve adapters: compat functions are served by the Temporal worker",
    "inngest.flask": "HTTP serve adapters",
    "inngest.django": "HTTP serve adapters",
    "inngest.tornado": "HTTP serve adapters",
    "inngest.digital_ocean": "HTTP serve adapters",
    "inngest.connect": "Inngest Connect (outbound WebSocket workers) is out of scope",
    "inngest.experimental": "experimental APIs are out of scope",
}

# --- signatures: (parameter, kind, default), `self` left out ----------------------------------------

SIGNATURES: dict[str, list[tuple[str, str, Any]]] = {
    "Inngest.__init__": [
        ("api_base_url", KW, None),
        ("app_id", KW, REQUIRED),
        ("app_version", KW, None),
        ("env", KW, None),
        ("event_api_base_url", KW, None),
        ("event_key", KW, None),
        ("is_production", KW, None),
        ("logger", KW, None),
        ("middleware", KW, None),
        ("request_timeout", KW, None),
        ("serializer", KW, None),
        ("signing_key", KW, None),
    ],
    "Inngest.create_function": [
        ("batch_events", KW, None),
        ("cancel", KW, None),
        ("concurrency", KW, None),
        ("debounce", KW, None),
        ("fn_id", KW, REQUIRED),
        ("idempotency", KW, None),
        ("middleware", KW, None),
        ("name", KW, None),
        ("on_failure", KW, None),
        ("output_type", KW, SENTINEL),
        ("priority", KW, None),
        ("rate_limit", KW, None),
        ("retries", KW, None),
        ("throttle", KW, None),
        ("timeouts", KW, None),
        ("singleton", KW, None),
        ("trigger", KW, REQUIRED),
    ],
    "Inngest.send": [("events", POS, REQUIRED), ("skip_middleware", KW, False)],
    "Inngest.send_sync": [("events", POS, REQUIRED), ("skip_middleware", KW, False)],
    "Inngest.set_logger": [("logger", POS, REQUIRED)],
    "NonRetriableError.__init__": [("message", POS, None), ("quiet", POS, False)],
    "RetryAfterError.__init__": [
        ("message", POS, REQUIRED),
        ("retry_after", POS, REQUIRED),
        ("quiet", POS, False),
    ],
    "StepError.__init__": [("message", POS, REQUIRED), ("name", POS, REQUIRED), ("stack", POS, REQUIRED)],
}

_STEP_METHODS: dict[str, list[tuple[str, str, Any]]] = {
    "run": [
        ("step_id", POS, REQUIRED),
        ("handler", POS, REQUIRED),
        ("handler_args", VAR, REQUIRED),
        ("output_type", KW, SENTINEL),
    ],
    "sleep": [("step_id", POS, REQUIRED), ("duration", POS, REQUIRED)],
    "sleep_until": [("step_id", POS, REQUIRED), ("until", POS, REQUIRED)],
    "wait_for_event": [
        ("step_id", POS, REQUIRED),
        ("event", KW, REQUIRED),
        ("if_exp", KW, None),
        ("timeout", KW, REQUIRED),
    ],
    "invoke": [
        ("step_id", POS, REQUIRED),
        ("function", KW, REQUIRED),
        ("data", KW, None),
        ("timeout", KW, None),
        ("v", KW, None),
    ],
    "invoke_by_id": [
        ("step_id", POS, REQUIRED),
        ("app_id", KW, None),
        ("function_id", KW, REQUIRED),
        ("data", KW, None),
        ("timeout", KW, None),
        ("v", KW, None),
    ],
    "send_event": [("step_id", POS, REQUIRED), ("events", POS, REQUIRED)],
}
for _cls in ("Step", "StepSync"):
    for _method, _params in _STEP_METHODS.items():
        SIGNATURES[f"{_cls}.{_method}"] = _params

_PARALLEL = [("callables", POS, REQUIRED), ("parallel_mode", POS, "ParallelMode.WAIT")]
SIGNATURES["Group.parallel"] = _PARALLEL
SIGNATURES["GroupSync.parallel"] = _PARALLEL

# --- models: field -> default (REQUIRED if none) ---------------------------------------------------

MODEL_FIELDS: dict[str, dict[str, Any]] = {
    "Event": {"data": {}, "id": "", "name": REQUIRED, "ts": 0},
    "TriggerEvent": {"event": REQUIRED, "expression": None},
    "TriggerCron": {"cron": REQUIRED, "jitter": None},
    "Batch": {"max_size": REQUIRED, "timeout": None, "key": None, "if_exp": None},
    "Cancel": {"event": REQUIRED, "if_exp": None, "timeout": None},
    "Concurrency": {"key": None, "limit": REQUIRED, "scope": None},
    "Debounce": {"key": None, "period": REQUIRED, "timeout": None},
    "Priority": {"run": REQUIRED},
    "RateLimit": {"key": None, "limit": REQUIRED, "period": REQUIRED},
    "Singleton": {"key": None, "mode": REQUIRED},
    "Throttle": {"key": None, "limit": REQUIRED, "period": REQUIRED, "burst": 1},
    "Timeouts": {"start": None, "finish": None},
    "SendEventsResult": {"error": None, "ids": []},
}

COMPAT_ONLY_FIELDS = {
    "Event": {
        # Inngest's wire events carry these; stock 0.5.19's model drops them. Additive: no stock
        # code breaks, and events round-trip (sent events, wait_for_event results, invoke's `v`).
        "v": None,
        "user": None,
    },
}

# dataclasses: fields in order (positional construction depends on it), none has a default
CONTEXT_FIELDS = ["attempt", "event", "events", "group", "job_id", "logger", "request_id", "run_id", "step"]

PARALLEL_MODES = [("RACE", "race"), ("WAIT", "wait")]

# --- public attributes of classes ----------------------------------------------------------------

INNGEST_ATTRIBUTES = [
    "api_origin",
    "app_id",
    "app_version",
    "create_function",
    "env",
    "event_api_origin",
    "event_key",
    "is_production",
    "logger",
    "middleware",
    "send",
    "send_sync",
    "set_logger",
    "signing_key",
    "signing_key_fallback",
]
INNGEST_NOT_MIRRORED = {"add_middleware": "middleware is out of scope"}
INNGEST_COMPAT_ONLY = {"functions": "every function created with the client (what a worker serves)"}

STEP_METHODS = sorted(_STEP_METHODS)
STEP_NOT_MIRRORED = {"ai": "step.ai (AI inference requests) is out of scope"}

FUNCTION_ATTRIBUTES = [
    "get_id",
    "id",
    "is_handler_async",
    "is_on_failure_handler_async",
    "local_id",
    "name",
    "on_failure_fn_id",
]
FUNCTION_NOT_MIRRORED = {
    "call": "HTTP serve protocol internals: compat runs handlers through its step engine",
    "call_sync": "HTTP serve protocol internals",
    "get_config": "HTTP sync payload; compat syncs AppSpecs to Temporal instead",
}

ERROR_ATTRIBUTES = {
    "NonRetriableError": ["is_retriable", "message", "name", "quiet", "stack"],
    "RetryAfterError": ["is_retriable", "message", "name", "quiet", "retry_after", "stack"],
    "StepError": ["is_retriable", "message", "name", "stack"],
}
ERROR_COMPAT_ONLY = {
    "RetryAfterError": {"delay_seconds": "seconds until the retry, clamped to Inngest's 1 s .. 24 h"},
}
ERROR_NOT_MIRRORED = {
    "code": "the SDK's wire error code enum (HTTP protocol internals)",
    "include_stack": "HTTP protocol internals",
}

# --- helpers -------------------------------------------------------------------------------------


def resolve(module: Any, path: str) -> Any:
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def normalized_default(default: Any) -> Any:
    if default is inspect.Parameter.empty:
        return REQUIRED
    if isinstance(default, type) and default.__name__ == "EmptySentinel":
        return SENTINEL
    if isinstance(default, enum.Enum):
        return f"{type(default).__name__}.{default.name}"
    return default


def signature_of(fn: Any) -> list[tuple[str, str, Any]]:
    params = list(inspect.signature(fn).parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [(p.name, p.kind.name.lower(), normalized_default(p.default)) for p in params]


def fields_of(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {
        name: REQUIRED if info.is_required() else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
    }


def public(obj: Any) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def compat_group(name: str) -> Any:
    return getattr(inngest, name)


def compat_signature_target(path: str) -> Any:
    return resolve(inngest, path)


def sample_errors(module: Any) -> dict[str, BaseException]:
    return {
        "NonRetriableError": module.NonRetriableError("no"),
        "RetryAfterError": module.RetryAfterError("later", 1000),
        "StepError": module.StepError("boom", "ValueError", "trace"),
    }


def error_public(err: BaseException) -> set[str]:
    return public(err) - public(BaseException)


def pydantic_public(model: type[pydantic.BaseModel]) -> set[str]:
    return public(model) - public(pydantic.BaseModel)


# --- compat against the frozen list ----------------------------------------------------------------


def test_parity_frozen_lists_are_disjoint() -> None:
    assert set() == set(MIRRORED_NAMES) & set(NOT_MIRRORED_NAMES)
    assert set() == set(MIRRORED_NAMES) & set(COMPAT_ONLY_NAMES)


def test_parity_compat_exports_exactly_the_mirrored_names() -> None:
    assert sorted(MIRRORED_NAMES + list(COMPAT_ONLY_NAMES)) == sorted(inngest.__all__)
    for name in inngest.__all__:
        assert hasattr(inngest, name), name


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_parity_compat_signature(path: str) -> None:
    assert SIGNATURES[path] == signature_of(compat_signature_target(path))


@pytest.mark.parametrize("model", sorted(MODEL_FIELDS))
def test_parity_compat_model_fields(model: str) -> None:
    expected = {**MODEL_FIELDS[model], **COMPAT_ONLY_FIELDS.get(model, {})}
    assert expected == fields_of(getattr(inngest, model))


@pytest.mark.parametrize("name", ["Context", "ContextSync"])
def test_parity_compat_context_fields(name: str) -> None:
    fields = dataclasses.fields(getattr(inngest, name))
    assert CONTEXT_FIELDS == [f.name for f in fields]
    assert [] == [
        f.name
        for f in fields
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]


def test_parity_compat_parallel_modes() -> None:
    assert PARALLEL_MODES == [(m.name, m.value) for m in inngest.ParallelMode]


def test_parity_compat_inngest_attributes() -> None:
    client = inngest.Inngest(app_id="parity")
    assert sorted(INNGEST_ATTRIBUTES + list(INNGEST_COMPAT_ONLY)) == sorted(public(client))


@pytest.mark.parametrize("name", ["Step", "StepSync"])
def test_parity_compat_step_methods(name: str) -> None:
    assert STEP_METHODS == sorted(public(getattr(inngest, name)))


def test_parity_compat_function_attributes() -> None:
    client = inngest.Inngest(app_id="parity")

    @client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event="e"))
    async def f(ctx: inngest.Context) -> None:
        return None

    assert set(FUNCTION_ATTRIBUTES) <= public(f)
    assert "parity-f" == f.get_id() == f.id
    assert "f" == f.local_id == f.name
    assert f.is_handler_async is True
    assert f.is_on_failure_handler_async is None
    assert f.on_failure_fn_id is None


@pytest.mark.parametrize("name", sorted(ERROR_ATTRIBUTES))
def test_parity_compat_error_attributes(name: str) -> None:
    err = sample_errors(inngest)[name]
    expected = ERROR_ATTRIBUTES[name] + list(ERROR_COMPAT_ONLY.get(name, {}))
    assert sorted(expected) == sorted(error_public(err))


def test_parity_compat_error_attribute_values() -> None:
    errs = sample_errors(inngest)
    assert (False, "no", "NonRetriableError", False) == (
        errs["NonRetriableError"].is_retriable,
        errs["NonRetriableError"].message,
        errs["NonRetriableError"].name,
        errs["NonRetriableError"].quiet,
    )
    assert (True, "later", "RetryAfterError") == (
        errs["RetryAfterError"].is_retriable,
        errs["RetryAfterError"].message,
        errs["RetryAfterError"].name,
    )
    assert (False, "boom", "ValueError", "trace") == (
        errs["StepError"].is_retriable,
        errs["StepError"].message,
        errs["StepError"].name,
        errs["StepError"].stack,
    )


def test_parity_compat_event_data_none_is_empty() -> None:
    assert {} == inngest.Event(name="a", data=None).data  # type: ignore[arg-type]


# --- the stock SDK: the frozen list is accurate, and stock and compat agree ------------------------


@pytest.fixture(scope="module")
def stock() -> Any:
    """The stock `inngest` SDK: a declared test dependency, so missing it fails rather than skips."""
    module = importlib.import_module("inngest")
    assert STOCK_VERSION == importlib.metadata.version("inngest")
    return module


@pytest.fixture(scope="module")
def stock_step_lib(stock: Any) -> Any:
    return importlib.import_module("inngest._internal.step_lib")  # where ctx.group's types live


def stock_signature_target(stock: Any, step_lib: Any, path: str) -> Any:
    if path.startswith(("Group.", "GroupSync.")):
        return resolve(step_lib, path)
    return resolve(stock, path)


def test_parity_stock_names_are_the_frozen_list(stock: Any) -> None:
    assert sorted(MIRRORED_NAMES + list(NOT_MIRRORED_NAMES)) == sorted(stock.__all__)


@pytest.mark.parametrize("module", sorted(NOT_MIRRORED_MODULES))
def test_parity_stock_has_unmirrored_module(stock: Any, module: str) -> None:
    assert importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_parity_stock_signature_is_the_frozen_one(stock: Any, stock_step_lib: Any, path: str) -> None:
    assert SIGNATURES[path] == signature_of(stock_signature_target(stock, stock_step_lib, path))


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_parity_stock_and_compat_signatures_agree(stock: Any, stock_step_lib: Any, path: str) -> None:
    assert signature_of(stock_signature_target(stock, stock_step_lib, path)) == signature_of(
        compat_signature_target(path)
    )


@pytest.mark.parametrize("model", sorted(MODEL_FIELDS))
def test_parity_stock_model_fields_are_the_frozen_ones(stock: Any, model: str) -> None:
    assert MODEL_FIELDS[model] == fields_of(getattr(stock, model))


@pytest.mark.parametrize("model", sorted(MODEL_FIELDS))
def test_parity_stock_and_compat_model_fields_agree(stock: Any, model: str) -> None:
    compat_fields = fields_of(getattr(inngest, model))
    for extra in COMPAT_ONLY_FIELDS.get(model, {}):
        del compat_fields[extra]
    assert fields_of(getattr(stock, model)) == compat_fields


@pytest.mark.parametrize("model", sorted(MODEL_FIELDS))
def test_parity_stock_model_fields_keep_their_order(stock: Any, model: str) -> None:
    compat_order = [f for f in getattr(inngest, model).model_fields if f not in COMPAT_ONLY_FIELDS.get(model, {})]
    assert list(getattr(stock, model).model_fields) == compat_order


@pytest.mark.parametrize("name", ["Context", "ContextSync"])
def test_parity_stock_context_fields(stock: Any, name: str) -> None:
    stock_fields = [f.name for f in dataclasses.fields(getattr(stock, name))]
    assert CONTEXT_FIELDS == stock_fields
    assert stock_fields == [f.name for f in dataclasses.fields(getattr(inngest, name))]


def test_parity_stock_parallel_modes(stock: Any) -> None:
    assert PARALLEL_MODES == [(m.name, m.value) for m in stock.ParallelMode]


def test_parity_stock_inngest_attributes(stock: Any) -> None:
    stock_client = stock.Inngest(app_id="parity", is_production=False)
    assert sorted(INNGEST_ATTRIBUTES + list(INNGEST_NOT_MIRRORED)) == sorted(public(stock_client))
    compat_client = inngest.Inngest(app_id="parity")
    assert public(stock_client) - set(INNGEST_NOT_MIRRORED) == public(compat_client) - set(
        INNGEST_COMPAT_ONLY
    )


@pytest.mark.parametrize("name", ["Step", "StepSync"])
def test_parity_stock_step_methods(stock: Any, name: str) -> None:
    assert STEP_METHODS == sorted(public(getattr(stock, name)))
    assert "ai" in STEP_NOT_MIRRORED  # an instance attribute of stock Step: not visible on the class


def test_parity_stock_function_attributes(stock: Any) -> None:
    assert sorted(FUNCTION_ATTRIBUTES + list(FUNCTION_NOT_MIRRORED)) == sorted(public(stock.Function))


@pytest.mark.parametrize("name", sorted(ERROR_ATTRIBUTES))
def test_parity_stock_error_attributes(stock: Any, name: str) -> None:
    err = sample_errors(stock)[name]
    assert sorted(ERROR_ATTRIBUTES[name] + list(ERROR_NOT_MIRRORED)) == sorted(error_public(err))
    compat_err = sample_errors(inngest)[name]
    for attr in ("is_retriable", "message", "name"):
        assert getattr(err, attr) == getattr(compat_err, attr), attr


@pytest.mark.parametrize("model", ["Event", "TriggerEvent", "TriggerCron"])
def test_parity_stock_model_methods(stock: Any, model: str) -> None:
    # stock models add `to_dict` / `from_raw` / `convert_validation_error` (error-as-value helpers
    # of its strict BaseModel); compat models are plain pydantic models: model_dump / model_validate.
    stock_extra = pydantic_public(getattr(stock, model)) - {"to_dict", "from_raw", "convert_validation_error"}
    assert set() == stock_extra - pydantic_public(getattr(inngest, model))

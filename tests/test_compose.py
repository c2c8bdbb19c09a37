"""docker-compose.yml, Dockerfile and the dynamic config, checked without Docker.

`compose_problems` validates the structure the compose specification allows and the properties
our deployment relies on (healthchecks, start order, pinned images, required variables...).
Every check has a test that breaks the file and expects that check's message.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"

TOP_LEVEL_KEYS = {
    "version",
    "name",
    "include",
    "services",
    "networks",
    "volumes",
    "secrets",
    "configs",
    "models",
}
# Service keys of the compose specification (compose-spec/compose-spec, schema/compose-spec.json).
SERVICE_KEYS = {
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
}
HEALTHCHECK_KEYS = {
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
}
DEPENDS_ON_KEYS = {"condition", "required", "restart"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
REQUIRED_SERVICES = {
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-create-namespace",
    "temporal-ui",
    "gateway",
    "worker",
}
SEARCH_ATTRIBUTES = ("InngestFunctionId", "InngestAppId", "InngestEventName", "InngestEventId")


# -- interpolation --------------------------------------------------------------------------------


def interpolations(text: str) -> list[tuple[str, str | None]]:
    """(variable, modifier) for each `${VAR...}` / `$VAR` in text; `$$` is a literal `$`.
    modifier is one of ':-', '-', ':?', '?', ':+', '+' or None."""
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            i += 2
            continue
        braced = re.match(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?", text[i:])
        bare = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])
        if braced:
            found.append((braced.group(1), braced.group(2)))
            i += braced.end()
        elif bare:
            found.append((bare.group(1), None))
            i += bare.end()
        else:
            found.append(("$" + text[i + 1 : i + 10], "invalid"))
            i += 1
    return found


def resolve_defaults(text: str) -> str:
    """Replace `${VAR:-default}` by its default (what compose does with VAR unset)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", text)


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in strings(k) + strings(v)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return []


def documented_variables(raw: str) -> set[str]:
    """Upper-case names in the comment block at the top of the file."""
    header = []
    for line in raw.splitlines():
        if not line.startswith("#") and line.strip():
            break
        header.append(line)
    return set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", "\n".join(header)))


# -- the validator ---------------------------------------------------------------------------------


def _depends(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt in graph and not state.get(nxt):
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in graph:
        if not state.get(node):
            found = visit(node)
            if found:
                return found
    return None


def _host_ports(service: dict[str, Any]) -> list[str]:
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                out.append(f"{entry.get('host_ip', '0.0.0.0')}:{entry['published']}")
            continue
        parts = resolve_defaults(str(entry)).split("/")[0].split(":")
        if len(parts) == 3:
            out.append(f"{parts[0]}:{parts[1]}")
        elif len(parts) == 2:
            out.append(f"0.0.0.0:{parts[0]}")
    return out


def _command(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else shlex.split(str(value))


def _dockerfile_cmd(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text()
    found = re.findall(r"^(?:CMD|ENTRYPOINT)\s+(.+)$", text, flags=re.M)
    words: list[str] = []
    for instr in found:
        instr = instr.strip()
        words += yaml.safe_load(instr) if instr.startswith("[") else shlex.split(instr)
    return words


def compose_problems(doc: Any, *, root: Path = ROOT, raw: str = "") -> list[str]:
    """Everything wrong with a parsed compose file (an empty list when it is fine)."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["the file is not a mapping"]
    for key in doc:
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-"):
            problems.append(f"unknown top-level key {key!r}")
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        return problems + ["no services"]
    for name in sorted(REQUIRED_SERVICES - services.keys()):
        problems.append(f"required service {name!r} is missing")
    declared_volumes = set((doc.get("volumes") or {}).keys())

    one_shot = {
        target
        for svc in services.values()
        if isinstance(svc, dict)
        for target, spec in _depends(svc).items()
        if spec.get("condition") == "service_completed_successfully"
    }
    graph: dict[str, list[str]] = {}
    seen_ports: dict[str, str] = {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            problems.append(f"service {name!r} is not a mapping")
            continue
        for key in svc:
            if key not in SERVICE_KEYS and not str(key).startswith("x-"):
                problems.append(f"service {name!r}: unknown key {key!r}")
        if "image" not in svc and "build" not in svc:
            problems.append(f"service {name!r}: needs image or build")
        if "image" in svc and "build" not in svc:
            image = resolve_defaults(str(svc["image"]))
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or tag == "latest":
                problems.append(
                    f"service {name!r}: image {svc['image']!r} is not pinned to a version"
                )
        if "restart" in svc and not RESTART.match(str(svc["restart"])):
            problems.append(f"service {name!r}: restart {svc['restart']!r} is not a restart policy")

        hc = svc.get("healthcheck")
        if hc is None:
            if name not in one_shot:
                problems.append(f"service {name!r}: no healthcheck")
        elif not isinstance(hc, dict):
            problems.append(f"service {name!r}: healthcheck is not a mapping")
        else:
            for key in hc:
                if key not in HEALTHCHECK_KEYS:
                    problems.append(f"service {name!r}: healthcheck has unknown key {key!r}")
            test = hc.get("test")
            if isinstance(test, list):
                if (
                    not test
                    or test[0] not in ("CMD", "CMD-SHELL", "NONE")
                    or len(test) < 2
                    and test[0] != "NONE"
                ):
                    problems.append(
                        f"service {name!r}: healthcheck test must start with CMD or CMD-SHELL"
                    )
            elif not isinstance(test, str) and not hc.get("disable"):
                problems.append(f"service {name!r}: healthcheck has no test")
            for key in ("interval", "timeout", "start_period", "start_interval"):
                if key in hc and not DURATION.match(str(hc[key])):
                    problems.append(
                        f"service {name!r}: healthcheck {key} {hc[key]!r} is not a duration"
                    )
            if "retries" in hc and not (isinstance(hc["retries"], int) and hc["retries"] > 0):
                problems.append(
                    f"service {name!r}: healthcheck retries {hc['retries']!r} "
                    "is not a positive integer"
                )

        deps = _depends(svc)
        graph[name] = list(deps)
        for target, spec in deps.items():
            if target not in services:
                problems.append(f"service {name!r}: depends on unknown service {target!r}")
                continue
            for key in spec:
                if key not in DEPENDS_ON_KEYS:
                    problems.append(
                        f"service {name!r}: depends_on {target!r} has unknown key {key!r}"
                    )
            condition = spec.get("condition", "service_started")
            if condition not in CONDITIONS:
                problems.append(
                    f"service {name!r}: depends_on {target!r} has invalid condition {condition!r}"
                )
            elif condition == "service_healthy" and not (services[target] or {}).get("healthcheck"):
                problems.append(
                    f"service {name!r}: waits for {target!r} to be healthy, "
                    "but it has no healthcheck"
                )

        for port in _host_ports(svc):
            number = port.rsplit(":", 1)[1]
            if number in seen_ports:
                problems.append(
                    f"host port {number} is published by both {seen_ports[number]!r} and {name!r}"
                )
            seen_ports[number] = name

        for volume in svc.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
            if not source or ":" not in str(volume) and not isinstance(volume, dict):
                continue
            if source.startswith((".", "/")):
                if not (root / source).exists():
                    problems.append(
                        f"service {name!r}: bind mount source {source!r} does not exist"
                    )
            elif source not in declared_volumes:
                problems.append(
                    f"service {name!r}: volume {source!r} is not declared under top-level volumes"
                )

        build = svc.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = (
                root
                / context
                / (
                    build.get("dockerfile", "Dockerfile")
                    if isinstance(build, dict)
                    else "Dockerfile"
                )
            )
            if not dockerfile.is_file():
                problems.append(f"service {name!r}: {dockerfile.relative_to(root)} does not exist")
            elif "inngest-temporal" not in _dockerfile_cmd(dockerfile):
                problems.append(
                    f"{dockerfile.relative_to(root)}: CMD/ENTRYPOINT does not run inngest-temporal"
                )

    cycle = _cycle(graph)
    if cycle:
        problems.append("depends_on cycle: " + " -> ".join(cycle))

    documented = documented_variables(raw)
    for text in strings(doc):
        for var, modifier in interpolations(text):
            if modifier == "invalid":
                problems.append(f"invalid interpolation {var!r} (write $$ for a literal $)")
            elif modifier not in (":-", "-", ":?", "?") and var not in documented:
                problems.append(
                    f"variable {var} has no default, is not required with :?, and is not documented"
                )

    problems += _project_problems(services, root)
    return problems


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _project_problems(services: dict[str, Any], root: Path) -> list[str]:
    """What our deployment needs beyond a valid file."""
    problems: list[str] = []
    gateway, worker = services.get("gateway") or {}, services.get("worker") or {}
    temporal, ns_job = (
        services.get("temporal") or {},
        services.get("temporal-create-namespace") or {},
    )

    gw_cmd = _command(gateway.get("command"))
    if gw_cmd[:2] != ["inngest-temporal", "gateway"] or "0.0.0.0" not in gw_cmd:
        problems.append(
            f"gateway command {gw_cmd} is not `inngest-temporal gateway --host 0.0.0.0 ...`"
        )
    wk_cmd = _command(worker.get("command"))
    if wk_cmd[:2] != ["inngest-temporal", "worker"] or "--app" not in wk_cmd:
        problems.append(f"worker command {wk_cmd} is not `inngest-temporal worker --app ...`")
    gw_env, wk_env = _env(gateway), _env(worker)
    for svc_name, env in (("gateway", gw_env), ("worker", wk_env)):
        if env.get("TEMPORAL_ADDRESS") != "temporal:7233":
            problems.append(f"{svc_name}: TEMPORAL_ADDRESS must be temporal:7233")
        if (_depends(services.get(svc_name) or {}).get("temporal-create-namespace") or {}).get(
            "condition"
        ) != "service_completed_successfully":
            problems.append(f"{svc_name}: must wait for temporal-create-namespace to complete")
    if gw_env.get("GATEWAY_MODE") != "production":
        problems.append("gateway: GATEWAY_MODE must be production")
    for key in ("GATEWAY_EVENT_KEYS", "GATEWAY_SIGNING_KEYS"):
        if not any(mod in (":?", "?") for _, mod in interpolations(gw_env.get(key, ""))):
            problems.append(
                f"gateway: {key} must come from a required variable (${{VAR:?message}})"
            )

    t_env = _env(temporal)
    if not t_env.get("DB", "").startswith("postgres"):
        problems.append("temporal: DB must be postgres12")
    config_path = t_env.get("DYNAMIC_CONFIG_FILE_PATH", "")
    mounts = [str(v) for v in temporal.get("volumes") or []]
    mount = next(
        (m for m in mounts if m.split(":")[1:2] == ["/etc/temporal/config/dynamicconfig"]), None
    )
    if mount is None or not config_path.startswith("config/dynamicconfig/"):
        problems.append("temporal: the dynamic config directory is not mounted or not selected")
    else:
        local = root / mount.split(":")[0] / Path(config_path).name
        problems += [f"{local.relative_to(root)}: {p}" for p in dynamic_config_problems(local)]

    script = "\n".join(_command(ns_job.get("command")) + _command(ns_job.get("entrypoint")))
    for attr in SEARCH_ATTRIBUTES:
        if not re.search(rf"--name {attr} --type Keyword", script):
            problems.append(f"temporal-create-namespace does not create search attribute {attr}")
    return problems


def dynamic_config_problems(path: Path) -> list[str]:
    if not path.is_file():
        return ["does not exist"]
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        return ["is not a mapping of keys to value lists"]
    problems = []
    for key, entries in config.items():
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and "value" in e for e in entries
        ):
            problems.append(f"{key}: must be a list of {{value: ..., constraints: ...}}")
    entries = config.get("history.enableSignalWithStartFromWorkflow")
    if not (
        isinstance(entries, list)
        and entries
        and isinstance(entries[0], dict)
        and entries[0].get("value") is True
    ):
        problems.append("history.enableSignalWithStartFromWorkflow must be true")
    return problems


# -- tests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> str:
    return COMPOSE.read_text()


@pytest.fixture(scope="module")
def compose(raw: str) -> dict[str, Any]:
    doc = yaml.safe_load(raw)
    assert isinstance(doc, dict)
    return doc


def test_compose_file_is_valid(compose: dict[str, Any], raw: str) -> None:
    assert [] == compose_problems(compose, raw=raw)


def test_compose_search_attributes_match_the_model() -> None:
    import temporal_worker._models as models

    assert SEARCH_ATTRIBUTES == tuple(k.name for k in models.SEARCH_ATTRIBUTES)


def test_compose_dockerfile_runs_as_non_root_from_python_311() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.M)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^RUN pip install \.", text, flags=re.M)


def test_compose_interpolations_parse_escapes_and_modifiers() -> None:
    assert [("A", ":-"), ("B", ":?"), ("C", None)] == interpolations(
        "${A:-x} $${NOT} ${B:?m} $C $$D"
    )
    assert "examples.shop" == resolve_defaults("${APP_MODULE:-examples.shop}")


def _break(compose: dict[str, Any], mutate: Any) -> dict[str, Any]:
    broken = copy.deepcopy(compose)
    mutate(broken)
    return broken


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()


BROKEN_CASES = [
    ("unknown top-level key", _set("servicess", {}), "unknown top-level key 'servicess'"),
    (
        "missing service",
        _set("services/temporal-ui", _DELETE),
        "required service 'temporal-ui' is missing",
    ),
    (
        "unknown service key",
        _set("services/worker/imagee", "x"),
        "service 'worker': unknown key 'imagee'",
    ),
    (
        "no image or build",
        _set("services/temporal-ui/image", _DELETE),
        "service 'temporal-ui': needs image or build",
    ),
    ("unpinned image", _set("services/temporal-ui/image", "temporalio/ui:latest"), "is not pinned"),
    ("untagged image", _set("services/postgresql/image", "postgres"), "is not pinned"),
    ("bad restart", _set("services/worker/restart", "sometimes"), "is not a restart policy"),
    (
        "no healthcheck",
        _set("services/gateway/healthcheck", _DELETE),
        "service 'gateway': no healthcheck",
    ),
    (
        "healthcheck key",
        _set("services/gateway/healthcheck/intervall", "5s"),
        "unknown key 'intervall'",
    ),
    (
        "healthcheck test",
        _set("services/gateway/healthcheck/test", ["RUN", "x"]),
        "must start with CMD",
    ),
    (
        "healthcheck duration",
        _set("services/gateway/healthcheck/interval", "often"),
        "is not a duration",
    ),
    (
        "healthcheck retries",
        _set("services/gateway/healthcheck/retries", "many"),
        "is not a positive integer",
    ),
    (
        "unknown dependency",
        _set("services/worker/depends_on/temporall", {"condition": "service_healthy"}),
        "depends on unknown service 'temporall'",
    ),
    (
        "bad condition",
        _set("services/worker/depends_on/temporal/condition", "service_ready"),
        "invalid condition",
    ),
    (
        "depends_on key",
        _set("services/worker/depends_on/temporal/conditon", "x"),
        "unknown key 'conditon'",
    ),
    (
        "healthy without healthcheck",
        _set("services/temporal/healthcheck", _DELETE),
        "waits for 'temporal' to be healthy, but it has no healthcheck",
    ),
    (
        "cycle",
        _set("services/postgresql/depends_on", {"worker": {"condition": "service_started"}}),
        "depends_on cycle",
    ),
    (
        "duplicate host port",
        _set("services/temporal-ui/ports", ["127.0.0.1:8288:8080"]),
        "host port 8288",
    ),
    (
        "undefined variable",
        _set("services/worker/environment/X", "${UNDOCUMENTED_THING}"),
        "variable UNDOCUMENTED_THING has no default",
    ),
    ("bare dollar", _set("services/worker/environment/X", "cost: $5"), "invalid interpolation"),
    (
        "undeclared volume",
        _set("services/postgresql/volumes", ["pgdata:/var/lib/postgresql/data"]),
        "volume 'pgdata' is not declared",
    ),
    (
        "missing bind source",
        _set("services/temporal/volumes", ["./nowhere:/etc/temporal/config/dynamicconfig"]),
        "bind mount source './nowhere' does not exist",
    ),
    (
        "missing Dockerfile",
        _set("services/worker/build", {"context": ".", "dockerfile": "Nope"}),
        "Nope does not exist",
    ),
    (
        "gateway command",
        _set("services/gateway/command", ["uvicorn", "gateway:app"]),
        "gateway command",
    ),
    (
        "worker command",
        _set("services/worker/command", "inngest-temporal worker"),
        "worker command",
    ),
    (
        "gateway mode",
        _set("services/gateway/environment/GATEWAY_MODE", "dev"),
        "GATEWAY_MODE must be production",
    ),
    (
        "event keys default",
        _set("services/gateway/environment/GATEWAY_EVENT_KEYS", "${INNGEST_EVENT_KEY:-dev}"),
        "GATEWAY_EVENT_KEYS must come from a required variable",
    ),
    (
        "worker address",
        _set("services/worker/environment/TEMPORAL_ADDRESS", "localhost:7233"),
        "worker: TEMPORAL_ADDRESS must be temporal:7233",
    ),
    (
        "namespace job wait",
        _set("services/gateway/depends_on/temporal-create-namespace", _DELETE),
        "gateway: must wait for temporal-create-namespace",
    ),
    (
        "dynamic config path",
        _set("services/temporal/environment/DYNAMIC_CONFIG_FILE_PATH", "config/x.yaml"),
        "dynamic config directory is not mounted or not selected",
    ),
    (
        "dynamic config file",
        _set(
            "services/temporal/environment/DYNAMIC_CONFIG_FILE_PATH",
            "config/dynamicconfig/missing.yaml",
        ),
        "missing.yaml: does not exist",
    ),
    (
        "search attributes",
        _set("services/temporal-create-namespace/command", ["echo hi"]),
        "does not create search attribute InngestEventId",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in BROKEN_CASES], ids=[c[0] for c in BROKEN_CASES]
)
def test_compose_validator_reports(
    compose: dict[str, Any], raw: str, mutate: Any, expected: str
) -> None:
    problems = compose_problems(_break(compose, mutate), raw=raw)
    assert any(expected in p for p in problems), problems


def test_compose_validator_reports_documented_variables_as_fine(
    compose: dict[str, Any], raw: str
) -> None:
    broken = _break(compose, _set("services/worker/environment/X", "${APP_MODULE}"))
    assert [] == compose_problems(broken, raw=raw)


def test_compose_dockerfile_without_inngest_temporal_is_reported(
    tmp_path: Path, compose: dict[str, Any]
) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCMD ["python", "-m", "http.server"]\n'
    )
    problems = compose_problems(compose, root=tmp_path)
    assert "Dockerfile: CMD/ENTRYPOINT does not run inngest-temporal" in problems


def test_compose_dynamic_config_shape_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "production.yaml"
    bad.write_text("history.enableSignalWithStartFromWorkflow: true\n")
    assert [
        "history.enableSignalWithStartFromWorkflow: "
        "must be a list of {value: ..., constraints: ...}",
        "history.enableSignalWithStartFromWorkflow must be true",
    ] == dynamic_config_problems(bad)


# -- the namespace job, run for real against a dev server ----------------------------------------


def _shell_script(service: dict[str, Any]) -> str:
    """The job's script as the container's shell sees it ($$ -> $)."""
    assert ["/bin/sh", "-c"] == service["entrypoint"]
    (script,) = service["command"]
    return script.replace("$$", "$")


@pytest.mark.temporal
async def test_compose_namespace_job_registers_namespace_and_search_attributes(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    import temporalio.api.operatorservice.v1
    import temporalio.api.workflowservice.v1
    import temporalio.client

    from temporal_worker import _devserver

    job = compose["services"]["temporal-create-namespace"]
    env = {k: resolve_defaults(v) for k, v in _env(job).items()}
    binary = _devserver.find_temporal_binary()
    async with _devserver.DevServer(
        port=_devserver.free_port(), ui=False, search_attributes=()
    ) as server:
        run_env = {
            **os.environ,
            **env,
            "TEMPORAL_ADDRESS": server.address,
            "NAMESPACE": "inngest-compose-check",
            "PATH": f"{Path(binary).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        for _ in range(2):  # a second run (a restarted stack) must succeed too
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                _shell_script(job),
                env=run_env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
            assert 0 == proc.returncode, out.decode()
        client = await temporalio.client.Client.connect(server.address)
        described = await client.workflow_service.describe_namespace(
            temporalio.api.workflowservice.v1.DescribeNamespaceRequest(
                namespace="inngest-compose-check"
            )
        )
        listed = await client.operator_service.list_search_attributes(
            temporalio.api.operatorservice.v1.ListSearchAttributesRequest(
                namespace="inngest-compose-check"
            )
        )
    assert 168 * 3600 == described.config.workflow_execution_retention_ttl.seconds
    assert {name: 2 for name in SEARCH_ATTRIBUTES} == {
        k: v for k, v in listed.custom_attributes.items() if k in SEARCH_ATTRIBUTES
    }

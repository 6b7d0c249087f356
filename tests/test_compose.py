"""docker-compose.yml agrees with the Dockerfiles, the Caddyfile, `.env.example` and
the variables the code reads. No Docker engine runs here: these checks read files."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
CADDYFILE = REPO / "deploy" / "Caddyfile"
SECRETS = {"DJANGO_SECRET_KEY", "XMPP_TOKEN_SECRET", "BRIDGE_COMPONENT_SECRET", "POSTGRES_PASSWORD"}
# Read from the environment by the processes themselves, not settings the operator makes.
PROCESS_VARIABLES = {"DJANGO_SETTINGS_MODULE"}
# Read by the programs in the images (PostgreSQL's image, gunicorn), not our code.
IMAGE_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "WEB_CONCURRENCY"}
# Where the project reads the environment (STYLE.md: one place per component).
ENV_READERS = [
    *(REPO / "portal" / "config").glob("*.py"),
    *(REPO / "bridge").glob("*.py"),
    *(REPO / "stack").glob("*.py"),
]
ENV_READ = re.compile(
    r"""(?:env_\w+|_int|_float|_bool|_list|\.get|getenv)\(\s*(?:env,\s*)?["']([A-Z][A-Z0-9_]+)["']"""
    r"""|env\[["']([A-Z][A-Z0-9_]+)["']\]"""
)


def caddy_variables() -> dict[str, str | None]:
    """The Caddyfile's {$NAME} and {$NAME:default} placeholders."""
    found = re.findall(r"\{\$([A-Z][A-Z0-9_]*)(?::([^}]*))?\}", CADDYFILE.read_text())
    return {name: default or None for name, default in found}


def variables_read_by_code() -> set[str]:
    names = set()
    for path in ENV_READERS:
        for match in ENV_READ.finditer(path.read_text()):
            names.add(match.group(1) or match.group(2))
    return names - PROCESS_VARIABLES


def documented_variables() -> set[str]:
    text = (REPO / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def interpolated_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / "docker-compose.yml").read_text()))


def dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def image_env(path: Path) -> dict[str, str]:
    env = {}
    for instruction, args in dockerfile(path):
        if instruction == "ENV":
            env.update(dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", args)))
    return env


def exposed(path: Path) -> set[int]:
    return {int(p) for i, a in dockerfile(path) if i == "EXPOSE" for p in a.split()}


def environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in SERVICES[service].get("environment", {}).items()}


def test_compose_runs_the_five_services_with_restart_and_healthchecks():
    assert set(SERVICES) == {"postgres", "prosody", "portal", "bridge", "proxy"}
    for name, service in SERVICES.items():
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_services_start_only_after_what_they_need_is_healthy():
    needs = {
        "prosody": {"postgres"},
        "portal": {"postgres", "prosody"},
        "bridge": {"portal", "prosody"},
        "proxy": {"portal", "prosody"},
    }
    for name, expected in needs.items():
        depends = SERVICES[name]["depends_on"]
        assert set(depends) == expected, name
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name


def test_named_volumes_are_declared_and_all_used():
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                used.add(source)
    assert used == declared
    assert "postgres_data" in used and "prosody_data" in used


def test_every_variable_the_code_reads_is_documented_in_env_example():
    missing = (variables_read_by_code() | set(caddy_variables())) - documented_variables()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_documents_nothing_that_nobody_reads():
    caddy = set(caddy_variables())
    known = variables_read_by_code() | interpolated_variables() | IMAGE_VARIABLES | caddy
    stale = documented_variables() - known
    assert not stale, f"nobody reads: {sorted(stale)}"


def test_compose_variables_are_documented_and_secrets_are_required():
    undocumented = interpolated_variables() - documented_variables()
    assert not undocumented, f"add to .env.example: {sorted(undocumented)}"
    text = (REPO / "docker-compose.yml").read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:?[?-])?", text)
        assert uses and all(use == ":?" for use in uses), f"{secret} must be required"


def test_services_receive_only_variables_their_programs_read():
    code = variables_read_by_code()
    for name in ("prosody", "portal", "bridge"):
        unread = set(environment(name)) - code - IMAGE_VARIABLES
        assert not unread, f"{name} is given variables nothing reads: {unread}"
    required = {name for name, default in caddy_variables().items() if default is None}
    required.discard("PROXY_GLOBAL_OPTIONS")  # empty in production: ACME
    assert set(environment("proxy")) == required


def test_no_secret_is_baked_into_an_image():
    for path in (REPO / "Dockerfile", REPO / "xmpp" / "Dockerfile"):
        for instruction, args in dockerfile(path):
            if instruction in {"ENV", "ARG"}:
                assert not SECRETS & set(re.findall(r"[A-Z][A-Z0-9_]+", args)), path
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored and "var" in ignored


def test_the_image_imports_the_packages_from_its_workdir_without_pythonpath():
    steps = dockerfile(REPO / "Dockerfile")
    final = steps[max(i for i, (instruction, _) in enumerate(steps) if instruction == "FROM") :]
    workdir = [args for instruction, args in final if instruction == "WORKDIR"][-1]
    copied = {args.split()[-1].rstrip("/") for instruction, args in final if instruction == "COPY"}
    assert {"./portal", "./bridge", "./stack"} <= copied and workdir == "/app"
    env = image_env(REPO / "Dockerfile")
    assert "PYTHONPATH" not in env
    assert env["DJANGO_SETTINGS_MODULE"] == "portal.config.settings"


def test_images_build_from_files_that_exist():
    for name in ("prosody", "portal", "bridge"):
        build = SERVICES[name]["build"]
        path = REPO / build["context"] / build["dockerfile"]
        for instruction, args in dockerfile(path):
            if instruction == "COPY" and "--from" not in args:
                for source in args.split()[:-1]:
                    assert (REPO / build["context"] / source).exists(), f"{path}: {source}"
    assert SERVICES["portal"]["image"] == SERVICES["bridge"]["image"]


def test_ports_agree_between_compose_images_and_proxy():
    prosody_image = image_env(REPO / "xmpp" / "Dockerfile")
    portal_image = image_env(REPO / "Dockerfile")
    published = {int(port.split(":")[1].split("/")[0]) for port in SERVICES["prosody"]["ports"]}
    listening = {
        int(prosody_image[name])
        for name in ("PROSODY_C2S_PORT", "PROSODY_C2S_DIRECT_TLS_PORT", "PROSODY_S2S_PORT")
    }
    assert published == listening <= exposed(REPO / "xmpp" / "Dockerfile")
    assert {p.split(":")[0] for p in SERVICES["prosody"]["ports"]} == {"5222", "5223", "5269"}
    for client in ("portal", "bridge"):
        env = environment(client)
        for name in ("PROSODY_C2S_PORT", "PROSODY_HTTP_PORT", "PROSODY_COMPONENT_PORT"):
            if name in env:
                assert env[name] == prosody_image[name], f"{client} {name}"
        assert env["PROSODY_HOST"] == "prosody"
    assert environment("portal")["PORTAL_PORT"] == portal_image["PORTAL_PORT"]
    assert int(portal_image["PORTAL_PORT"]) in exposed(REPO / "Dockerfile")
    upstreams = set(re.findall(r"reverse_proxy \{\$PROXY_\w+:(\w+):(\d+)\}", CADDYFILE.read_text()))
    assert upstreams == {
        ("portal", portal_image["PORTAL_PORT"]),
        ("prosody", prosody_image["PROSODY_HTTP_PORT"]),
    }
    assert {p.split(":")[0] for p in SERVICES["proxy"]["ports"]} == {"80", "443"}


def test_prosody_reads_the_certificates_the_proxy_obtains():
    volumes = dict(v.split(":", 1) for v in SERVICES["proxy"]["volumes"])
    caddy_data = volumes["caddy_data"]
    prosody_mount = next(
        v.split(":")[1] for v in SERVICES["prosody"]["volumes"] if v.startswith("caddy_data:")
    )
    assert SERVICES["prosody"]["volumes"][1].endswith(":ro")
    source = environment("prosody")["PROSODY_CERTS_SOURCE"]
    # Caddy keeps certificates under <data>/caddy/certificates.
    assert caddy_data == "/data"
    assert source == f"{prosody_mount}/caddy/certificates"


def test_proxy_sends_the_chat_paths_to_prosody_and_the_rest_to_the_portal():
    text = CADDYFILE.read_text()
    for path in ("/xmpp-websocket*", "/http-bind*", "/file_share/*"):
        block = text.split(f"handle {path} {{", 1)[1].split("\n\t}", 1)[0]
        assert "reverse_proxy {$PROXY_PROSODY_UPSTREAM:prosody:" in block, path
    catch_all = text.split("\thandle {", 1)[1].split("\n\t}", 1)[0]
    assert "reverse_proxy {$PROXY_PORTAL_UPSTREAM:portal:" in catch_all


@pytest.mark.parametrize("web_host", ["chat.example.org", "example.org"])
def test_caddyfile_is_valid_for_separate_and_shared_web_hosts(web_host):
    assert shutil.which("caddy"), "caddy is not installed (the Makefile's DEB_TEST_PACKAGES)"
    env = {
        "CHATBOARD_WEB_HOST": web_host,
        "CHATBOARD_DOMAIN": "example.org",
        "CHATBOARD_MUC_DOMAIN": "rooms.example.org",
    }
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(CADDYFILE), "--validate"],
        env={"PATH": "/usr/bin:/bin", "ACME_EMAIL": "ops@example.org", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    hosts = re.search(r'"host":\["([^\]]+)"\]', result.stdout).group(1).split('","')
    assert set(hosts) >= {web_host, "example.org", "rooms.example.org", "upload.example.org"}


def test_proxy_serves_the_files_the_portal_writes():
    portal_image = image_env(REPO / "Dockerfile")
    defaults = caddy_variables()
    proxy = dict(v.split(":")[:2] for v in SERVICES["proxy"]["volumes"])
    portal = dict(v.split(":")[:2] for v in SERVICES["portal"]["volumes"])
    assert proxy["static"] == defaults["PROXY_STATIC_ROOT"]
    assert proxy["media"] == defaults["PROXY_MEDIA_ROOT"]
    assert portal["static"] == f"{portal_image['CHATBOARD_RUNTIME_DIR']}/static"
    assert portal["media"] == portal_image["CHATBOARD_MEDIA_ROOT"]
    assert all(v.endswith(":ro") for v in SERVICES["proxy"]["volumes"][1:] if "caddy_" not in v)

"""dvc pull from an S3 remote (dvc-s3) served by moto's server on 127.0.0.1, started and stopped here."""

import json
import shutil
import socket

import pytest

from bot.ci.context import Context
from bot.job import ReportOptions, run_report
from tests.ci_projects import publish, set_dvc_remote, shallow_clone

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BUCKET = "models"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def use_credentials(monkeypatch, present: bool):
    # Never ask the instance metadata service (no network in tests) or the machine's own files.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    if present:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.fixture
def s3_origin(demo_template, s3_endpoint, tmp_path, monkeypatch):
    """The demo pushed to s3://models/<test>/ on moto, as a bare origin."""
    import boto3

    use_credentials(monkeypatch, present=True)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    if BUCKET not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    shutil.copytree(demo_template, tmp_path / "project", symlinks=True)
    prefix = tmp_path.name
    origin = publish(tmp_path / "project", tmp_path, url=f"s3://{BUCKET}/{prefix}", endpointurl=s3_endpoint)
    stored = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert stored["KeyCount"] >= 3  # both branches' model and data
    return origin


def run_job(clone, tmp_path):
    chunks = []
    outcome = run_report(
        ReportOptions(path=clone, base="main", out_dir=tmp_path / "bundle", echo=chunks.append), Context()
    )
    return outcome, "".join(chunks)


def test_pull_from_s3_with_credentials_from_the_environment(s3_origin, tmp_path, monkeypatch):
    clone = shallow_clone(s3_origin, tmp_path / "clone", local_remote=False)

    outcome, log_text = run_job(clone, tmp_path)

    assert outcome.exit_code == 0
    pull = outcome.report.pipeline["pull"]
    assert pull["files"] == 2 and pull["remote"].startswith("remote 'storage' (s3://models/")
    assert (clone / "models" / "model.npy").is_file()
    assert outcome.report.summary == "2 improved"
    bundle = (tmp_path / "bundle" / "report.json").read_text() + outcome.markdown
    for text in (bundle, log_text):
        assert SECRET not in text and KEY_ID not in text


def test_missing_credentials_fail_the_pull_naming_the_remote_and_still_report(s3_origin, tmp_path, monkeypatch):
    clone = shallow_clone(s3_origin, tmp_path / "clone", local_remote=False)
    use_credentials(monkeypatch, present=False)

    outcome, _ = run_job(clone, tmp_path)

    assert outcome.exit_code == 3
    failure = outcome.report.pipeline["failure"]
    assert failure["step"] == "dvc pull"
    message = failure["message"]
    assert message.startswith("dvc pull from remote 'storage' (s3://models/")
    assert "2 files could not be downloaded" in message
    assert "Unable to locate credentials" in message and "AWS_ACCESS_KEY_ID" in message
    report = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert report["verdict"] == "failed" and report["pipeline"]["failed"] == message
    assert outcome.markdown.startswith("## ❌ Pipeline failed: dvc pull from remote 'storage'")


def test_an_unreachable_endpoint_fails_the_pull_with_what_to_check(s3_origin, tmp_path):
    clone = shallow_clone(s3_origin, tmp_path / "clone", local_remote=False)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    set_dvc_remote(clone, f"s3://{BUCKET}/{tmp_path.name}", local=True, endpointurl=closed)

    outcome, _ = run_job(clone, tmp_path)

    assert outcome.exit_code == 3
    message = outcome.report.pipeline["failure"]["message"]
    assert message.startswith(f"dvc pull from remote 'storage' (s3://{BUCKET}/{tmp_path.name}) failed: 2 files")
    assert f"Could not connect to the endpoint URL: \"{closed}/" in message
    assert message.endswith("the job could not reach the remote: check its url (and endpointurl), and that the CI "
                            "network (proxy, firewall) lets the job through")
    assert "AWS_ACCESS_KEY_ID" not in message  # credentials are not what is wrong
    assert outcome.markdown.startswith("## ❌ Pipeline failed: dvc pull from remote 'storage'")

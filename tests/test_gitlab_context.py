import pytest

from bot.ci import detect
from bot.ci.context import GITLAB
from bot.ci.gitlab import detect_gitlab
from bot.errors import BadInput

HEAD = "c" * 40
BASE = "b" * 40

MR_PIPELINE = {
    "GITLAB_CI": "true",
    "CI_SERVER_URL": "https://gitlab.example.com",
    "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
    "CI_PROJECT_ID": "42",
    "CI_PROJECT_PATH": "group/sub/project",
    "CI_PROJECT_URL": "https://gitlab.example.com/group/sub/project",
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "17",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA": BASE,
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "CI_COMMIT_SHA": HEAD,
    "CI_PIPELINE_URL": "https://gitlab.example.com/group/sub/project/-/pipelines/900",
    "CI_JOB_URL": "https://gitlab.example.com/group/sub/project/-/jobs/901",
    "CI_JOB_TOKEN": "job-token-value",
    "GITLAB_TOKEN": "glpat-project-token",
}


def test_merge_request_pipeline_fills_every_field():
    context = detect(MR_PIPELINE)
    assert context.forge == GITLAB
    assert (context.project_id, context.repository) == ("42", "group/sub/project")
    assert context.api_url == "https://gitlab.example.com/api/v4"
    assert context.server_url == "https://gitlab.example.com"
    assert context.number == 17
    # The diff base is a merge-base; the target's tip is not in an MR pipeline's variables.
    assert (context.head_sha, context.merge_base_sha, context.base_sha, context.base_ref) == (HEAD, BASE, "", "main")
    assert context.event == "merge_request_event"
    assert context.run_url.endswith("/jobs/901")
    assert (context.token, context.token_name) == ("glpat-project-token", "GITLAB_TOKEN")


def test_token_never_shows_in_the_context_repr():
    assert "glpat-project-token" not in repr(detect_gitlab(MR_PIPELINE))


def test_mrbot_token_overrides_gitlab_token():
    context = detect_gitlab({**MR_PIPELINE, "MRBOT_TOKEN": "glpat-override"})
    assert (context.token, context.token_name) == ("glpat-override", "MRBOT_TOKEN")


@pytest.mark.parametrize("variables", [{}, {"GITLAB_TOKEN": "job-token-value"}], ids=["only-job-token", "copied"])
def test_a_job_token_is_named_but_never_used(variables):
    environ = {key: value for key, value in MR_PIPELINE.items() if key != "GITLAB_TOKEN"}
    context = detect_gitlab({**environ, **variables})
    assert (context.token, context.token_name) == ("", "CI_JOB_TOKEN")


def test_no_token_at_all():
    environ = {key: value for key, value in MR_PIPELINE.items() if key not in ("GITLAB_TOKEN", "CI_JOB_TOKEN")}
    assert (detect_gitlab(environ).token, detect_gitlab(environ).token_name) == ("", "")


def test_self_managed_api_url_under_a_sub_path_is_honored():
    context = detect_gitlab({**MR_PIPELINE, "CI_SERVER_URL": "https://git.corp", "CI_API_V4_URL": "https://git.corp/gitlab/api/v4/"})
    assert context.api_url == "https://git.corp/gitlab/api/v4"


def test_api_url_falls_back_to_the_server_url():
    environ = {key: value for key, value in MR_PIPELINE.items() if key != "CI_API_V4_URL"}
    assert detect_gitlab(environ).api_url == "https://gitlab.example.com/api/v4"


def test_branch_pipeline_has_no_merge_request_number():
    environ = {key: value for key, value in MR_PIPELINE.items() if not key.startswith("CI_MERGE_REQUEST_")}
    context = detect_gitlab({**environ, "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature"})
    assert context.number is None
    assert context.base_sha == context.merge_base_sha == ""
    assert context.head_sha == HEAD
    assert context.extra["commit_branch"] == "feature"


def test_merged_results_pipeline_reports_on_the_source_head_against_the_target_tip():
    merge_commit, source, target = "1" * 40, "2" * 40, "3" * 40
    context = detect_gitlab(
        {
            **MR_PIPELINE,
            "CI_COMMIT_SHA": merge_commit,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": source,
            "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": target,
        }
    )
    assert (context.head_sha, context.base_sha, context.merge_base_sha) == (source, target, BASE)


def test_run_url_falls_back_to_the_pipeline():
    environ = {key: value for key, value in MR_PIPELINE.items() if key != "CI_JOB_URL"}
    assert detect_gitlab(environ).run_url.endswith("/pipelines/900")


@pytest.mark.parametrize("iid", ["17; rm -rf", "²", "١٧", "1" * 5000], ids=["shell", "superscript", "arabic", "long"])
def test_malformed_merge_request_iid_names_the_variable(iid):
    # "²" and "١٧" pass str.isdigit() but not int(); 5000 digits is past int()'s limit.
    with pytest.raises(BadInput, match=r"^CI_MERGE_REQUEST_IID=.{1,60} is not a merge request number; unset it"):
        detect_gitlab({**MR_PIPELINE, "CI_MERGE_REQUEST_IID": iid})

"""Single calls of mrbot propose's pull request drivers for Bitbucket and Forgejo, with `responses`."""

import base64
import json

import pytest
import responses

from bot.ci.context import BITBUCKET, FORGEJO, Context
from bot.forges import push_header
from bot.forges.base import AlreadyOpen
from bot.forges.bitbucket_pulls import BitbucketPullRequests
from bot.forges.forgejo_pulls import PAGE, ForgejoPullRequests

BB_API = "https://api.bitbucket.org/2.0"
BB_PULLS = f"{BB_API}/repositories/team/model/pullrequests"
FJ_API = "https://codeberg.example/api/v1"
FJ_PULLS = f"{FJ_API}/repos/ml-team/model/pulls"
TOKEN = "secret-token-value"


def bitbucket(**extra):
    return Context(forge=BITBUCKET, repository="team/model", api_url=BB_API, token=TOKEN, extra=extra)


def forgejo():
    return Context(forge=FORGEJO, repository="ml-team/model", api_url=FJ_API, token=TOKEN)


def basic(header):
    return base64.b64decode(header.removeprefix("AUTHORIZATION: basic ")).decode()


def test_git_pushes_with_the_user_name_each_forge_documents_for_a_token():
    assert basic(push_header(bitbucket())) == f"x-token-auth:{TOKEN}"  # an access token
    assert basic(push_header(bitbucket(email="ci@example.com"))) == f"x-bitbucket-api-token-auth:{TOKEN}"
    assert basic(push_header(forgejo())) == f"x-access-token:{TOKEN}"  # Forgejo reads the password only


def bb_pull(number, source="mrbot/retrain", destination="main", repository="team/model"):
    return {"id": number, "state": "OPEN", "links": {"html": {"href": f"https://bitbucket.org/team/model/pull-requests/{number}"}},
            "source": {"branch": {"name": source}, "repository": {"full_name": repository}},
            "destination": {"branch": {"name": destination}}}


@responses.activate
def test_bitbucket_finds_the_open_pull_request_of_the_branch_by_bbql_and_checks_it():
    listing = responses.get(BB_PULLS, json={"values": [bb_pull(3, repository="someone/fork"), bb_pull(4, destination="dev"),
                                                       bb_pull(5)]})
    found = BitbucketPullRequests(bitbucket()).find_open("mrbot/retrain", "main")
    assert (found.number, found.url) == (5, "https://bitbucket.org/team/model/pull-requests/5")
    query = listing.calls[0].request.params
    assert query["state"] == "OPEN" and query["pagelen"] == "100"
    assert query["q"] == 'source.branch.name = "mrbot/retrain" AND destination.branch.name = "main"'


@responses.activate
def test_bitbucket_opens_a_pull_request_and_a_second_is_already_open():
    opened = responses.post(BB_PULLS, status=201, json=bb_pull(6))
    assert BitbucketPullRequests(bitbucket()).create("mrbot/retrain", "main", "Retrain", "body").number == 6
    sent = json.loads(opened.calls[0].request.body)
    assert sent["source"] == {"branch": {"name": "mrbot/retrain"}} and sent["destination"] == {"branch": {"name": "main"}}
    assert (sent["title"], sent["description"], sent["close_source_branch"]) == ("Retrain", "body", False)
    responses.replace(responses.POST, BB_PULLS, status=400,
                      json={"type": "error", "error": {"message": "There is already an open pull request from x to y"}})
    with pytest.raises(AlreadyOpen):
        BitbucketPullRequests(bitbucket()).create("mrbot/retrain", "main", "Retrain", "body")


@responses.activate
def test_forgejo_looks_through_every_page_and_skips_a_forks_branch_of_the_same_name():
    def pull(number, ref="mrbot/retrain", base="main", repo_id=1):
        return {"number": number, "html_url": f"https://codeberg.example/ml-team/model/pulls/{number}",
                "head": {"ref": ref, "repo_id": repo_id}, "base": {"ref": base, "repo_id": 1}}

    full_page = [pull(n, ref=f"other-{n}") for n in range(1, PAGE)] + [pull(PAGE, repo_id=2)]  # a fork's
    responses.get(FJ_PULLS, match=[responses.matchers.query_param_matcher(
        {"state": "open", "limit": str(PAGE), "page": "1"})], json=full_page)
    responses.get(FJ_PULLS, match=[responses.matchers.query_param_matcher(
        {"state": "open", "limit": str(PAGE), "page": "2"})], json=[pull(77)])
    assert ForgejoPullRequests(forgejo()).find_open("mrbot/retrain", "main").number == 77


@responses.activate
def test_forgejo_opens_updates_and_reads_409_as_already_open():
    responses.post(FJ_PULLS, status=201, json={"number": 8, "html_url": "https://codeberg.example/ml-team/model/pulls/8"})
    pulls = ForgejoPullRequests(forgejo())
    pull = pulls.create("mrbot/retrain", "main", "Retrain", "body")
    edit = responses.patch(f"{FJ_PULLS}/8", status=201, json={})
    pulls.update(pull, "Retrain again", "new body")
    assert json.loads(edit.calls[0].request.body) == {"title": "Retrain again", "body": "new body"}
    assert edit.calls[0].request.headers["Authorization"] == f"token {TOKEN}"
    responses.replace(responses.POST, FJ_PULLS, status=409, json={"message": "pull request already exists for these targets"})
    with pytest.raises(AlreadyOpen):
        pulls.create("mrbot/retrain", "main", "Retrain", "body")

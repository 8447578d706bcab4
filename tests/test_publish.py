"""The forge-independent posting rules, against the local forge (comments as files)."""

import pytest

from bot.errors import ForgeRefused
from bot.forges.base import marker, parse_marker
from bot.forges.local import LocalForge
from bot.publish import (
    CREATED,
    FACTS_LIMIT,
    SKIPPED_NEWER,
    SKIPPED_OFF,
    UNCHANGED_BODY,
    UPDATED,
    PublishOptions,
    headline_facts,
    publish,
    status_description,
)
from tests.forge_reports import make_report
from tests.test_render import sample_report

OLD_HEAD = "2" * 40
NEW_HEAD = "3" * 40


def report_on(head_sha: str, report_id: str = "default"):
    report = sample_report()
    report.head = type(report.head)(report.head.rev, head_sha)
    report.report_id = report_id
    return report


def test_first_run_creates_then_rerun_updates_in_place(tmp_path):
    forge = LocalForge(tmp_path / "forge")
    first = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    assert first.action == CREATED
    assert first.body.startswith(marker("default", OLD_HEAD) + "\n## ")
    again = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    assert again.action == UNCHANGED_BODY
    newer = publish(forge, report_on(NEW_HEAD), tmp_path, PublishOptions())
    assert newer.action == UPDATED
    assert len(forge.report_comments("default")) == 1
    assert parse_marker(forge.report_comments("default")[0].body) == ("default", NEW_HEAD)


def test_duplicates_are_cleaned_keeping_the_oldest(tmp_path):
    forge = LocalForge(tmp_path / "forge")
    for _ in range(3):
        forge.create_comment(marker("default", OLD_HEAD) + "\nold")
    oldest = forge.report_comments("default")[0]
    published = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    assert published.action == UPDATED
    remaining = forge.report_comments("default")
    assert [c.id for c in remaining] == [oldest.id]


class RacedForge(LocalForge):
    """Another run, which found no comment either, comments just before this run does (or just after)."""

    def __init__(self, folder, other_body: str, after: bool = False, **kwargs):
        super().__init__(folder, **kwargs)
        self.other_body, self.after = other_body, after

    def create_comment(self, body: str):
        other_body, self.other_body = self.other_body, ""
        if other_body and not self.after:
            super().create_comment(other_body)
        created = super().create_comment(body)
        if other_body and self.after:
            super().create_comment(other_body)
        return created


def test_two_runs_that_both_found_no_comment_leave_one(tmp_path):
    forge = RacedForge(tmp_path / "forge", marker("default", OLD_HEAD) + "\nthe other run's report")
    published = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    [left] = forge.report_comments("default")
    assert left.id == 1  # the oldest, the other run's: this run deleted its own and updated that one
    assert published.action == UPDATED and left.body == published.body


def test_the_run_whose_comment_is_the_oldest_keeps_it_and_leaves_the_later_one_to_its_run(tmp_path):
    forge = RacedForge(tmp_path / "forge", marker("default", OLD_HEAD) + "\nthe other run's report", after=True)
    published = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    assert published.action == CREATED
    assert [c.id for c in forge.report_comments("default")] == [1, 2]  # the other run deletes its own


class ThreeRacedForge(RacedForge):
    """As RacedForge, and a third run that starts as this one comments deletes this run's comment
    (the oldest stays), before this run looks again and finds that same comment to delete."""

    def create_comment(self, body: str):
        created = super().create_comment(body)
        LocalForge.delete_comment(self, created)
        return created


def test_a_third_run_that_deleted_the_same_duplicate_first_leaves_one(tmp_path):
    forge = ThreeRacedForge(tmp_path / "forge", marker("default", OLD_HEAD) + "\nthe other run's report")
    published = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    [left] = forge.report_comments("default")
    assert left.id == 1 and published.action == UPDATED and left.body == published.body


def test_a_duplicate_that_cannot_be_deleted_still_fails_the_post(tmp_path):
    class Undeletable(LocalForge):
        def delete_comment(self, comment):
            raise ForgeRefused("deleting a comment: 403 Forbidden")

    forge = Undeletable(tmp_path / "forge")
    for _ in range(2):
        forge.create_comment(marker("default", OLD_HEAD) + "\nold")
    with pytest.raises(ForgeRefused, match="403"):
        publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())


def test_a_run_that_loses_the_race_to_a_newer_head_leaves_that_report(tmp_path):
    forge = RacedForge(tmp_path / "forge", marker("default", NEW_HEAD) + "\nthe newer head's report",
                       head_sha=NEW_HEAD)
    published = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    [left] = forge.report_comments("default")
    assert published.action == SKIPPED_NEWER and parse_marker(left.body)[1] == NEW_HEAD


def test_an_older_run_never_overwrites_a_newer_head(tmp_path):
    forge = LocalForge(tmp_path / "forge", head_sha=NEW_HEAD)
    publish(forge, report_on(NEW_HEAD), tmp_path, PublishOptions())
    late_old_run = publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions())
    assert late_old_run.action == SKIPPED_NEWER
    assert parse_marker(forge.report_comments("default")[0].body)[1] == NEW_HEAD


def test_two_report_ids_live_side_by_side(tmp_path):
    forge = LocalForge(tmp_path / "forge")
    publish(forge, report_on(OLD_HEAD, "cpu"), tmp_path, PublishOptions())
    publish(forge, report_on(OLD_HEAD, "gpu"), tmp_path, PublishOptions())
    assert len(forge.report_comments("cpu")) == 1 and len(forge.report_comments("gpu")) == 1


def test_comment_modes_new_and_off(tmp_path):
    forge = LocalForge(tmp_path / "forge")
    publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions(comment_mode="new"))
    publish(forge, report_on(OLD_HEAD), tmp_path, PublishOptions(comment_mode="new"))
    assert len(forge.report_comments("default")) == 2
    hosted = []
    forge.host_images = lambda bundle_dir, images: hosted.append(images)
    off = publish(forge, report_on(NEW_HEAD), tmp_path, PublishOptions(comment_mode="off"))
    assert off.action == SKIPPED_OFF
    assert len(forge.report_comments("default")) == 2
    assert hosted == []  # no comment, so no image uploads
    assert (tmp_path / "forge" / "status.json").exists()


def test_oversized_report_is_shortened_to_the_forge_limit(tmp_path):
    forge = LocalForge(tmp_path / "forge")
    forge.comment_limit = 5_000
    forge.where_full = "the job summary"
    report = sample_report(extra_unchanged=2_000)
    report.head = type(report.head)(report.head.rev, OLD_HEAD)
    published = publish(forge, report, tmp_path, PublishOptions())
    assert len(published.body) <= 5_000
    assert published.body.startswith(marker("default", OLD_HEAD))
    assert "The full report is in the job summary" in published.body


def test_status_is_set_with_headline_numbers(tmp_path):
    import json

    forge = LocalForge(tmp_path / "forge")
    report = report_on(OLD_HEAD)
    publish(forge, report, tmp_path, PublishOptions())
    status = json.loads((tmp_path / "forge" / "status.json").read_text())
    assert status["state"] == "success"
    assert status["description"] == status_description(report)
    assert "test.loss +0.02 (+4.4%)" in status["description"]
    assert len(status["description"]) <= 140
    report.gate_failed = True
    publish(forge, report, tmp_path, PublishOptions())
    assert json.loads((tmp_path / "forge" / "status.json").read_text())["state"] == "failure"


def test_a_quoted_marker_in_the_middle_is_not_a_report():
    assert parse_marker("> quoting\n" + marker("default", OLD_HEAD)) is None
    assert parse_marker(marker("default", OLD_HEAD) + "\nbody") == ("default", OLD_HEAD)


def test_headline_facts_lead_with_the_verdict_and_counts_then_the_telling_metrics():
    facts = headline_facts(make_report(accuracy=0.7, extra_improved=12))
    assert facts[:3] == (("Verdict", "❌ Model regressed"), ("Regressed", 1), ("Improved", 12))
    assert len(facts) == FACTS_LIMIT
    # Metrics that moved, regressions and improvements before plain changes; values are head's.
    assert facts[3][0].startswith("test.accuracy (-0.1") and facts[3][1] == 0.7
    assert all("test.loss" not in title for title, _ in facts)  # it did not move

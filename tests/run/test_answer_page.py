"""The introduction's answer box is generated from the run's claims.json."""

from vise_lib.run.book_pages import answer_page
from vise_lib.verdicts.results import write_claims


def _claim(a, b, task, verdict, diff, kind):
    return {
        "claim": f"{a} vs {b}",
        "task": task,
        "a": a,
        "b": b,
        "diff": diff,
        "ci_low": diff - 1.5,
        "ci_high": diff + 1.5,
        "verdict": verdict,
        "kind": kind,
    }


def test_the_answer_comes_from_claims_json(tmp_path):
    write_claims(
        tmp_path / "summary" / "claims.json",
        [
            _claim("vise", "object", "emotion", "reversed", -4.25, "question"),
            _claim("vise", "shuffled", "emotion", "holds", 2.5, "headline"),
        ],
    )
    page = answer_page("default", tmp_path)
    assert "**The answer of the `default` run**" in page
    assert "emotion: **reversed**, -4.2 points [-5.8, -2.8]" in page and "emotion: **holds**, +2.5" in page


def test_a_run_without_study_claims_says_so(tmp_path):
    assert "judged no claim of the world study" in answer_page("transfer", tmp_path)
    write_claims(
        tmp_path / "summary" / "claims.json", [_claim("vise", "imagenet", "emotion6", "holds", 3.0, "transfer")]
    )
    assert "see its transfer summary" in answer_page("transfer", tmp_path)
